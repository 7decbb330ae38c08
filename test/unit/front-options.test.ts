// The front's options come from the settings table in one place (frontOptionsOf): each
// setting given on the command line arrives in the front, seconds made milliseconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { frontOptionsOf } from '../../src/http/front.js';
import { MAX_PAYLOAD } from '../../src/ipc/protocol.js';
import { AllowList } from '../../src/net/allow-ips.js';

test('`frontOptionsOf()` takes every front setting from the command line, durations in ms', () => {
  const config = loadConfig({
    argv: [
      '--keep-alive',
      '7',
      '--header-timeout',
      '3',
      '--send-timeout',
      '9',
      '--limit-request-line',
      '1234',
      '--limit-request-fields',
      '12',
      '--limit-request-field-size',
      '555',
      '--max-body-size',
      '1m',
      '--server-name',
      'edge',
      '--max-connections',
      '99',
      '--http',
      '1',
      '--http2-max-streams',
      '7',
      '--ws-ping-interval',
      '4',
      '--ws-ping-timeout',
      '2',
      '--ws-idle-timeout',
      '30',
      '--ws-max-message-size',
      '64m',
    ],
    env: {},
    cwd: '/tmp',
  });
  const allow = new AllowList(config.forwardedAllowIps);
  const options = frontOptionsOf(config, allow);
  assert.deepEqual(options.limits, {
    maxRequestLine: 1234,
    maxHeaderCount: 12,
    maxHeaderFieldSize: 555,
    maxBodySize: config.maxBodySize,
  });
  assert.equal(options.keepAliveMs, 7000);
  assert.equal(options.headerTimeoutMs, 3000);
  assert.equal(options.sendTimeoutMs, 9000);
  assert.equal(options.serverHeader, 'edge');
  assert.equal(options.maxConnections, 99);
  assert.equal(options.http, '1');
  assert.equal(options.http2MaxStreams, 7);
  assert.equal(options.allow, allow);
  assert.equal(options.websocket?.pingIntervalMs, 4000);
  assert.equal(options.websocket?.pingTimeoutMs, 2000);
  assert.equal(options.websocket?.idleTimeoutMs, 30000);
  // A message crosses the worker link in one frame: the setting is capped at the frame's size.
  assert.equal(options.websocket?.maxMessageSize, MAX_PAYLOAD);
});
