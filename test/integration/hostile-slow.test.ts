// Slow clients against a real cask (issue #5): slowloris, slow POST and slow read, each
// bounded in count and time, on loopback. Each test shows the attack cut by its option while a
// fast client is served during it, and the front's memory staying bounded.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { fastClient, horde, rss, until } from '../helpers/attacks.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

const MiB = 1024 * 1024;

describe('slow clients against cask', () => {
  let server: RunningCask;
  let pid: number;
  before(async () => {
    server = await startCask([
      'failures:application', '--chdir', APPS, '-w', '1', '--threads', '4',
      '--header-timeout', '3', '--body-min-rate', '1k', '--send-timeout', '3', '--keep-alive', '2',
      '--log-level', 'debug',
    ]); // prettier-ignore
    pid = server.proc.pid as number;
    await fastClient(server.port, 20); // warm up before measuring memory
  });
  after(() => server.stop());

  test('slowloris: 1000 heads sent a byte at a time get 408 at header-timeout, a fast client is served meanwhile', async (t) => {
    const base = rss(pid);
    const attack = await horde(server.port, 1000, (a) =>
      a.socket.write('GET /ok HTTP/1.1\r\nHost: h\r\nX-Slow: '),
    );
    t.after(() => attack.stop());
    attack.every(200, (a) => a.socket.write('x'));
    const statuses = await fastClient(server.port, 20);
    const openWhileServed = attack.attackers.length - attack.closed();
    const peak = rss(pid) - base;
    assert.deepEqual(statuses, Array(20).fill(200));
    assert.ok(openWhileServed > 900, `only ${openWhileServed} attackers were still connected`);
    assert.ok(
      await until(() => attack.closed() === 1000, 10_000),
      `${attack.closed()} of 1000 closed`,
    );
    const answers = attack.attackers.map((a) => a.received().toString('latin1').slice(0, 12));
    assert.deepEqual(new Set(answers), new Set(['HTTP/1.1 408']));
    t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB`);
    assert.ok(peak < 64 * MiB, `the front grew by ${peak} bytes`);
  });

  test('slow POST: bodies under body-min-rate get 408, a body above it and a fast client are served', async (t) => {
    const base = rss(pid);
    const attack = await horde(server.port, 200, (a) =>
      a.socket.write('POST /ok HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n'),
    );
    t.after(() => attack.stop());
    attack.every(250, (a) => a.socket.write('xxxxx')); // 20 bytes/s
    // A genuine slow upload: 12 KiB at about 4 KiB/s, above the 1 KiB/s minimum.
    const upload = Buffer.alloc(12 * 1024, 'u');
    const pieces = Array.from({ length: 12 }, (_, i) => upload.subarray(i * 1024, (i + 1) * 1024));
    const genuine = exchange(
      server.port,
      [
        `POST /ok HTTP/1.1\r\nHost: h\r\nContent-Length: ${upload.length}\r\nConnection: close\r\n\r\n`,
        ...pieces,
      ],
      { pauseMs: 250, ms: 15_000 },
    );
    const statuses = await fastClient(server.port, 20);
    const openWhileServed = attack.attackers.length - attack.closed();
    assert.deepEqual(statuses, Array(20).fill(200));
    assert.ok(openWhileServed > 180, `only ${openWhileServed} attackers were still connected`);
    assert.ok(
      await until(() => attack.closed() === 200, 10_000),
      `${attack.closed()} of 200 closed`,
    );
    const peak = rss(pid) - base;
    assert.deepEqual(
      new Set(attack.attackers.map((a) => a.received().toString('latin1').slice(0, 12))),
      new Set(['HTTP/1.1 408']),
    );
    assert.equal((await genuine).responses[0]?.status, 200);
    t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB`);
    assert.ok(peak < 32 * MiB, `the front grew by ${peak} bytes`);
  });

  test('slow read: clients that never read 8 MiB answers do not hold the app, and are dropped at send-timeout', async (t) => {
    const base = rss(pid);
    const spools = (): string[] =>
      readdirSync(tmpdir()).filter((f) => f.startsWith(`cask-response-${pid}-`));
    const dropped = (): number => server.stderr().split('Client read nothing').length - 1;
    const before = dropped();
    // More attackers than the worker has threads: without the response spool they would
    // hold every thread until send-timeout.
    const attack = await horde(server.port, 6, (a) => {
      a.socket.pause();
      a.socket.write(`GET /big?${8 * MiB} HTTP/1.1\r\nHost: h\r\n\r\n`);
    });
    t.after(() => attack.stop());
    assert.ok(
      await until(() => spools().length === 6, 5000),
      `${spools().length} of 6 answers spooled`,
    );
    const statuses = await fastClient(server.port, 20);
    // Four requests that each hold one of the four threads at the same time.
    const burst = await Promise.all(
      [0, 1, 2, 3].map(() => get(server.port, '/sleep?0.3', {}, { ms: 5000 })),
    );
    const droppedWhileServed = dropped() - before;
    const peak = rss(pid) - base;
    assert.deepEqual(statuses, Array(20).fill(200));
    assert.deepEqual(
      burst.map((r) => r.status),
      [200, 200, 200, 200],
    );
    assert.equal(
      droppedWhileServed,
      0,
      'the fast clients were served while every attacker was still connected',
    );
    assert.ok(
      await until(() => dropped() - before === 6, 10_000),
      `dropped ${dropped() - before} of 6`,
    );
    assert.ok(
      await until(() => spools().length === 0, 2000),
      `${spools().length} spool files left`,
    );
    t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB while 48 MiB were offered`);
    // The 48 MiB are on disk; what the front grows by is the garbage of moving them there
    // at full speed (fast clients downloading as much grow it as much), not the answers.
    assert.ok(peak < 64 * MiB, `the front grew by ${peak} bytes while 48 MiB were offered`);
  });
});
