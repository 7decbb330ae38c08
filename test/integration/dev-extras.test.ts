// `--reload-browser`, `--open` and `--tls self-signed` over real sockets: the script tag in HTML pages (and only
// there), the event stream that tells the tabs after a reload, and the opener command. Then
// what `cask dev` shares with `cask serve`: `--static` mounts, and an exception after the
// response started (logged, the connection cut, close() called).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { APPS, runCask, startCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

const APP = `import helper

def application(environ, start_response):
    if environ["PATH_INFO"] == "/text":
        body = b"plain"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [body]
    body = ("<!doctype html><p id=v>%s</p>" % helper.VERSION).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
`;

function project(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-dev-extras-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'helper.py'), 'VERSION = "one"\n');
  return dir;
}

const TAG = '\n<script src="/__cask__/reload.js"></script>\n';

test('--reload-browser: HTML pages get the script, the stream says "reload" after an edit', async (t) => {
  const dir = project(t);
  const server = await startCask(['dev', 'app:application', '--chdir', dir, '--reload-browser']);
  t.after(() => server.stop());
  await server.waitFor(/Reloading on changes: watching \d+ file/);

  const page = await get(server.port, '/');
  assert.equal(page.body.toString(), `<!doctype html><p id=v>one</p>${TAG}`);
  assert.equal(Number(page.headers['content-length']), page.body.length);
  const text = await get(server.port, '/text');
  assert.equal(text.body.toString(), 'plain', 'only text/html gets the tag');
  const script = await get(server.port, '/__cask__/reload.js');
  assert.match(script.headers['content-type'] ?? '', /^text\/javascript/);
  assert.match(script.body.toString(), /new EventSource\("\/__cask__\/events"\)/);

  const stream = connect(server.port, '127.0.0.1');
  t.after(() => stream.destroy());
  let received = '';
  stream.setEncoding('latin1').on('data', (s: string) => (received += s));
  stream.write('GET /__cask__/events HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await until(() => received.includes(': reloads of the app'), 10_000, 'the stream');
  assert.match(received, /content-type: text\/event-stream/i);

  writeFileSync(join(dir, 'helper.py'), 'VERSION = "two"\n');
  await until(() => received.includes('event: reload\ndata: 1\n\n'), 15_000, 'the reload event');
  assert.match(server.stderr(), /Reloading 1 browser tab\(s\)/);
  assert.match((await get(server.port, '/')).body.toString(), /<p id=v>two<\/p>/);
});

test('without --reload-browser nothing is added', async (t) => {
  const server = await startCask(['dev', 'app:application', '--chdir', project(t)]);
  t.after(() => server.stop());
  assert.equal((await get(server.port, '/')).body.toString(), '<!doctype html><p id=v>one</p>');
});

test('--open runs $BROWSER with the server address', async (t) => {
  const dir = project(t);
  const seen = join(dir, 'opened.txt');
  const opener = join(dir, 'opener.sh');
  writeFileSync(opener, `#!/bin/sh\necho "$@" > ${JSON.stringify(seen)}\n`);
  chmodSync(opener, 0o755);
  const server = await startCask(['dev', 'app:application', '--chdir', dir, '--open'], {
    env: { BROWSER: opener },
  });
  t.after(() => server.stop());
  await until(
    () => existsSync(seen) && readFileSync(seen, 'utf8').length > 0,
    10_000,
    'the opener',
  );
  assert.equal(readFileSync(seen, 'utf8').trim(), `http://127.0.0.1:${server.port}/`);
});

test('--tls self-signed serves HTTPS with a localhost certificate made once and reused', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'cask-dev-cache-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const dir = project(t);
  const fetchOnce = async (): Promise<{ body: string; fingerprint: string }> => {
    const server = await startCask(
      ['dev', 'app:application', '--chdir', dir, '--tls', 'self-signed'],
      {
        env: { XDG_CACHE_HOME: cache },
      },
    );
    try {
      const certfile = join(cache, 'cask', 'tls-localhost', 'cert.pem');
      const ca = readFileSync(certfile);
      assert.match(server.stderr(), /on https:\/\/127\.0\.0\.1:\d+/);
      return await new Promise((resolve, reject) => {
        const request = httpsRequest(
          { host: '127.0.0.1', port: server.port, path: '/', ca, servername: 'localhost' },
          (response) => {
            let body = '';
            const fingerprint = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
            response.setEncoding('utf8').on('data', (s: string) => (body += s));
            response.on('end', () =>
              resolve({
                body,
                fingerprint,
              }),
            );
          },
        );
        request.on('error', reject);
        request.end();
      });
    } finally {
      await server.stop();
    }
  };
  const first = await fetchOnce();
  assert.equal(first.body, '<!doctype html><p id=v>one</p>');
  const cert = new X509Certificate(readFileSync(join(cache, 'cask', 'tls-localhost', 'cert.pem')));
  assert.match(
    cert.subjectAltName ?? '',
    /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/,
  );
  assert.equal(statSync(join(cache, 'cask', 'tls-localhost', 'key.pem')).mode & 0o777, 0o600);
  const second = await fetchOnce();
  assert.equal(second.fingerprint, first.fingerprint, 'the same certificate the second time');
});

test('--tls self-signed with --certfile is refused (exit 2)', async (t) => {
  const server = runCask([
    'dev',
    'app:application',
    '--chdir',
    project(t),
    '--tls',
    'self-signed',
    '--certfile',
    '/x.pem',
    '--keyfile',
    '/x.key',
    '-b',
    '127.0.0.1:0',
  ]);
  t.after(() => server.stop());
  assert.equal(await server.exited, 2);
  assert.match(server.stderr(), /Conflicting options: --tls self-signed makes its own certificate/);
});

test('--static under `cask dev`: the front serves the files, the app the rest, and an edit reloads nothing', async (t) => {
  const dir = project(t);
  const assets = join(dir, 'assets');
  mkdirSync(assets);
  writeFileSync(join(assets, 'site.css'), 'p { color: red }\n');
  const server = await startCask(
    ['dev', 'app:application', '--chdir', dir, '--static', `/static=${assets}`],
    { env: { NO_COLOR: '1' } },
  );
  t.after(() => server.stop());
  await server.waitFor(/Reloading on changes: watching \d+ file/);

  const css = await get(server.port, '/static/site.css');
  assert.equal(css.status, 200);
  assert.equal(css.body.toString(), 'p { color: red }\n');
  assert.match(css.headers['content-type'] ?? '', /^text\/css/);
  assert.match(css.headers['etag'] ?? '', /^(W\/)?"/, 'served by the front, with validators');
  assert.equal((await get(server.port, '/static/missing.css')).status, 404);
  assert.equal((await get(server.port, '/')).body.toString(), '<!doctype html><p id=v>one</p>');
  await server.waitFor(/^\d\d:\d\d:\d\d 200 GET \/static\/site\.css /m);

  // A static file is no module of the app: an edit is served at the next request (`cask dev`
  // looks at the file every time) and starts no reload.
  writeFileSync(join(assets, 'site.css'), 'p { color: blue }\n');
  assert.equal((await get(server.port, '/static/site.css')).body.toString(), 'p { color: blue }\n');
  await sleep(1000);
  assert.doesNotMatch(server.stderr(), /Changed:/);
});

test('an exception after the response started under `cask dev`: logged, connection cut, close() called', async (t) => {
  const server = await startCask(['dev', 'failures:application', '--chdir', APPS]);
  t.after(() => server.stop());
  const x = await exchange(server.port, 'GET /raise-after HTTP/1.1\r\nHost: localhost\r\n\r\n', {
    waitClose: true,
  });
  const raw = x.raw.toString('latin1');
  assert.match(raw, /^HTTP\/1\.1 200 OK/, 'the status the app had sent stands');
  assert.match(raw, /first part/);
  assert.doesNotMatch(raw, /0\r\n\r\n$/, 'the chunked body must not look complete');
  assert.doesNotMatch(raw, /RuntimeError|<html/i, 'no error page spliced into the body');
  assert.ok(x.closed, 'the connection is closed');
  await server.waitFor(/RuntimeError: boom after headers/);
  assert.match(server.stderr(), /Error handling request GET \/raise-after/);
  assert.match((await get(server.port, '/closed')).body.toString(), /raise-after/);
});
