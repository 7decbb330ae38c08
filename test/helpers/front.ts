// The settings of an in-process Front for the unit tests that drive it over loopback sockets
// with a stub handler: small limits, no spool, no timeouts but the ones a test sets.

import type { FrontOptions } from '../../src/http/front.js';
import { AllowList } from '../../src/net/allow-ips.js';

export function testFrontOptions(overrides: Partial<FrontOptions> = {}): FrontOptions {
  return {
    limits: {
      maxRequestLine: 1024,
      maxHeaderCount: 32,
      maxHeaderFieldSize: 1024,
      maxBodySize: 1 << 20,
    },
    keepAliveMs: 5000,
    headerTimeoutMs: 5000,
    bodyMinRate: 0,
    sendTimeoutMs: 0,
    bodyMemoryLimit: 1 << 20,
    bodyMemoryTotal: 0,
    responseSpoolLimit: 0,
    responseSpoolTotal: 1 << 30,
    responseSpoolMemory: 64 << 20,
    serverHeader: 'Cask',
    maxConnections: 0,
    proxyProtocol: false,
    allow: new AllowList(['127.0.0.1', '::1']),
    ...overrides,
  };
}
