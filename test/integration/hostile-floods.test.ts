// Connection floods against a real cask (issue #5): more connections than --max-connections,
// and idle keep-alive connections by the thousand, bounded in count and time, on loopback.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fastClient, horde, rss, until } from '../helpers/attacks.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get, parseResponses } from '../helpers/http.js';

const MiB = 1024 * 1024;

test('a flood past --max-connections is refused with 503 and counted, and service resumes', async (t) => {
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--max-connections', '300', '--header-timeout', '1.5',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  await fastClient(server.port, 10, '/');
  const base = rss(pid);
  // 400 connections that send nothing: 300 fill the front, 100 are turned away.
  const attack = await horde(server.port, 400);
  t.after(() => attack.stop());
  assert.ok(await until(() => attack.closed() >= 100, 5000), `${attack.closed()} closed`);
  const refused = attack.attackers.filter((a) => a.received().length > 0);
  const during = await get(server.port, '/', {}, { ms: 5000 });
  const peak = rss(pid) - base;
  assert.equal(refused.length, 100);
  for (const a of refused) {
    const [answer] = parseResponses(a.received()).responses;
    assert.equal(answer?.status, 503);
    assert.equal(answer?.headers['retry-after'], '1');
  }
  assert.equal(
    during.status,
    503,
    'a client that comes while the front is full is refused cleanly too',
  );
  await server.waitFor(
    /Connection limit reached, refusing connections: 300 open, \d+ refused since the last warning \(CASK_CONNECTION_LIMIT\)/,
  );
  // The silent 300 are closed at header-timeout; then everyone is served again.
  assert.ok(await until(() => attack.closed() === 400, 8000), `${attack.closed()} of 400 closed`);
  assert.deepEqual(await fastClient(server.port, 10, '/'), Array(10).fill(200));
  t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB`);
  assert.ok(peak < 32 * MiB, `the front grew by ${peak} bytes`);
});

test('2000 idle keep-alive connections are held cheaply, closed at --keep-alive (5 s), and a fast client is served meanwhile', async (t) => {
  const server = await startCask([
    'hello:application',
    '--chdir',
    APPS,
    '--threads',
    '4',
    '--max-queue',
    '4096',
  ]);
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  await fastClient(server.port, 10, '/');
  const base = rss(pid);
  const idle = await horde(server.port, 2000, (a) =>
    a.socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
  );
  t.after(() => idle.stop());
  const answered = (): number =>
    idle.attackers.filter((a) => a.received().includes('Hello, World!')).length;
  assert.ok(await until(() => answered() === 2000, 10_000), `${answered()} of 2000 answered`);
  const statuses = await fastClient(server.port, 20, '/');
  const openWhileServed = idle.attackers.length - idle.closed();
  const peak = rss(pid) - base;
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.ok(openWhileServed > 1900, `only ${openWhileServed} idle connections were still open`);
  t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB`);
  assert.ok(peak < 64 * MiB, `2000 idle connections grew the front by ${peak} bytes`);
  assert.ok(await until(() => idle.closed() === 2000, 12_000), `${idle.closed()} of 2000 closed`);
});
