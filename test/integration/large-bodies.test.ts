// Large bodies and bodies of many pieces over real sockets and a real worker: a piece the app
// yields reaches the client while the app waits (it is never held back to be coalesced), many
// small pieces from several threads at once arrive whole and in order, and 10 MB each way
// arrives byte for byte (docs/protocol.md, "Coalescing").
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

let server: RunningCask;

before(async () => {
  server = await startCask([
    'large_bodies:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '4',
  ]);
});
after(async () => {
  await server.stop();
});

const LARGE = Buffer.alloc(256 * 40961);
for (let i = 0; i < LARGE.length; i++) LARGE[i] = i & 0xff;

test('a piece yielded before the app waits reaches the client while it waits', async () => {
  // The app yields "first" and then waits up to 10 s for /release, which this client asks
  // for only once "first" has arrived: held back, the piece would come after the timeout.
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write('GET /flush HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    });
    let seen = '';
    let released = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      seen += chunk;
      if (!released && seen.includes('first\n')) {
        released = true;
        get(server.port, '/release').catch(reject);
      }
    });
    socket.on('end', () => resolve(seen));
    socket.on('error', reject);
  });
  assert.match(text, /first\n[\s\S]*released\n/);
  assert.doesNotMatch(text, /timed out/);
});

test('many small pieces from four requests at once arrive whole and in order', async () => {
  const count = 20_000;
  const size = 100;
  const results = await Promise.all(
    Array.from({ length: 4 }, () =>
      get(server.port, `/pieces?n=${count}&size=${size}`, {}, { ms: 30_000 }),
    ),
  );
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.body.length, count * size);
    for (let i = 0; i < count; i++) {
      const stamp = r.body.toString('latin1', i * size, i * size + 9);
      if (stamp !== `${String(i).padStart(8, '0')}:`)
        assert.fail(`piece ${i} is ${JSON.stringify(stamp)}`);
    }
  }
});

test('a 10 MB response in pieces of odd sizes arrives byte for byte', async () => {
  const r = await get(server.port, '/large', {}, { ms: 30_000 });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, LARGE.length);
  assert.ok(r.body.equals(LARGE));
});

test('a 10 MB upload reaches the app byte for byte', async () => {
  const head = `POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: ${LARGE.length}\r\n\r\n`;
  const x = await exchange(server.port, [head, LARGE], { ms: 30_000 });
  const r = x.responses[0];
  assert.ok(r !== undefined);
  assert.equal(r.status, 200);
  assert.equal(
    r.body.toString(),
    `${createHash('sha256').update(LARGE).digest('hex')} ${LARGE.length}`,
  );
});
