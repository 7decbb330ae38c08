// Starlette and FastAPI behind cask, run by Debian's python3 where python3-starlette and
// python3-fastapi are installed (.ci/run installs them, and python3-uvloop, so these also run
// on uvloop); each test skips, saying why, when a package is missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPS, DEBIAN_PYTHON, debianMissing, startCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

function post(port: number, path: string, type: string, body: Buffer | string): Promise<unknown> {
  const bytes = Buffer.from(body);
  const head = `POST ${path} HTTP/1.1\r\nHost: example.test\r\nContent-Type: ${type}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
  return exchange(port, [Buffer.from(head), bytes], { ms: 20_000 }).then((x) => {
    const r = x.responses[0]!;
    return { status: r.status, json: JSON.parse(r.body.toString()) as unknown };
  });
}

test(
  'a Starlette app serves routes, bodies, JSON, streams and errors',
  { skip: debianMissing('starlette', 'python3-starlette') },
  async (t) => {
    const server = await startCask([
      'starlette_app:app',
      '--chdir',
      APPS,
      '--python',
      DEBIAN_PYTHON,
    ]);
    t.after(() => server.stop());
    await server.waitFor('starlette startup');
    const home = await get(server.port, '/');
    assert.equal(home.status, 200);
    assert.equal(home.body.toString(), 'Hello from Starlette');
    const item = await get(server.port, '/items/7?q=x', { Host: 'example.test' });
    assert.deepEqual(JSON.parse(item.body.toString()), {
      id: 7,
      q: 'x',
      url: 'http://example.test/items/7?q=x',
      client: '127.0.0.1',
    });
    const upload = await post(
      server.port,
      '/upload',
      'application/octet-stream',
      Buffer.alloc(3_000_000, 1),
    );
    assert.deepEqual(upload, { status: 200, json: { bytes: 3_000_000 } });
    const document = await post(
      server.port,
      '/json',
      'application/json',
      '{"b":1,"a":"caf\u00e9"}',
    );
    assert.deepEqual(document, { status: 200, json: { keys: ['a', 'b'] } });
    const ticks = await get(server.port, '/ticks?n=3');
    assert.equal(ticks.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(ticks.body.toString(), 'data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n');
    assert.equal((await get(server.port, '/boom')).status, 500);
    await server.waitFor('ValueError: starlette view failed');
    assert.equal((await get(server.port, '/nothing')).status, 404);
  },
);

test(
  'a FastAPI app validates bodies and runs plain functions off the loop',
  { skip: debianMissing('fastapi', 'python3-fastapi') },
  async (t) => {
    const server = await startCask(['fastapi_app:app', '--chdir', APPS, '--python', DEBIAN_PYTHON]);
    t.after(() => server.stop());
    assert.deepEqual(JSON.parse((await get(server.port, '/')).body.toString()), {
      hello: 'FastAPI',
    });
    const made = await post(
      server.port,
      '/items/5',
      'application/json',
      '{"name":"cup","price":2.5}',
    );
    assert.deepEqual(made, { status: 200, json: { id: 5, name: 'cup', total: 5 } });
    const invalid = (await post(server.port, '/items/5', 'application/json', '{"name":"cup"}')) as {
      status: number;
    };
    assert.equal(invalid.status, 422);
    assert.deepEqual(JSON.parse((await get(server.port, '/sync')).body.toString()), { sync: true });
    assert.match(server.stderr(), /Worker ready \(ASGI, 1000 connections, (uvloop|asyncio)\)/);
  },
);
