// Real frameworks behind cask, run by Debian's python3 where python3-flask and python3-django
// are installed (.ci/run installs them); each test skips, saying why, when one is missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPS, DEBIAN_PYTHON, debianMissing, startCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

test('a Flask app serves routes, forms, errors and root paths', { skip: debianMissing('flask', 'python3-flask') }, async (t) => {
  const server = await startCask(['flask_app:app', '--chdir', APPS, '--python', DEBIAN_PYTHON, '--threads', '4', '--root-path', '/site']);
  t.after(() => server.stop());
  const home = await get(server.port, '/site/');
  assert.equal(home.status, 200);
  assert.equal(home.body.toString(), 'Hello from Flask');
  const form = 'name=caf%C3%A9&n=2';
  const x = await exchange(
    server.port,
    `POST /site/items/7?q=x HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\nConnection: close\r\n\r\n${form}`,
  );
  const item = JSON.parse(x.responses[0]!.body.toString()) as Record<string, unknown>;
  assert.deepEqual(item, {
    id: 7,
    method: 'POST',
    q: 'x',
    form: { name: 'café', n: '2' },
    script_root: '/site',
    url: 'http://example.test/site/items/7?q=x',
  });
  assert.equal((await get(server.port, '/site/boom')).status, 500);
  await server.waitFor('flask view failed');
});

test('a Django app serves GET and POST', { skip: debianMissing('django', 'python3-django') }, async (t) => {
  const server = await startCask(['django_site:application', '--chdir', APPS, '--python', DEBIAN_PYTHON, '-w', '2']);
  t.after(() => server.stop());
  const r = await get(server.port, '/echo/?a=1', { Host: 'django.test' });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body.toString()), {
    method: 'GET',
    path: '/echo/',
    get: { a: '1' },
    post: {},
    body_length: 0,
    host: 'django.test',
  });
  const form = 'x=1&y=two';
  const x = await exchange(
    server.port,
    `POST /echo/ HTTP/1.1\r\nHost: django.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\nConnection: close\r\n\r\n${form}`,
  );
  const posted = JSON.parse(x.responses[0]!.body.toString()) as { post: Record<string, string> };
  assert.deepEqual(posted.post, { x: '1', y: 'two' });
  assert.equal((await get(server.port, '/missing/', { Host: 'django.test' })).status, 404);
});
