// The error page's console in `cask dev`, over real sockets: the PIN, the cookie, a line run in
// a frame, and the shapes of werkzeug's debugger holes kept closed: CVE-2024-34069 (a foreign
// Host or Origin reaching the console: DNS rebinding, cross-site posts) and CVE-2019-14806
// (a PIN that can be predicted), plus the lock after 10 wrong PINs and no console outside a
// loopback listener or in `cask serve`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startCask, type RunningCask } from '../helpers/cask.js';
import { exchange, get, type ParsedResponse } from '../helpers/http.js';

const APP = `def application(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        count = 3
        return count / 0
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]
`;

function project(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-console-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.py'), APP);
  return dir;
}

async function dev(t: TestContext, extra: string[] = []): Promise<RunningCask & { pin: string }> {
  const server = await startCask(['dev', 'app:application', '--chdir', project(t), ...extra]);
  t.after(() => server.stop());
  const pin = /Error page console PIN: (\d{3}-\d{3}-\d{3})/.exec(server.stderr())?.[1];
  assert.ok(pin !== undefined, 'the PIN is printed at start');
  return Object.assign(server, { pin });
}

interface Post {
  host?: string;
  origin?: string | null;
  cookie?: string;
}

async function post(
  server: RunningCask,
  path: string,
  body: unknown,
  opts: Post = {},
): Promise<ParsedResponse> {
  const host = opts.host ?? `127.0.0.1:${server.port}`;
  const payload = JSON.stringify(body);
  const lines = [
    `POST ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(payload)}`,
    'Connection: close',
  ];
  const origin = opts.origin === undefined ? `http://${host}` : opts.origin;
  if (origin !== null) lines.push(`Origin: ${origin}`);
  if (opts.cookie !== undefined) lines.push(`Cookie: ${opts.cookie}`);
  const result = await exchange(server.port, `${lines.join('\r\n')}\r\n\r\n${payload}`);
  const response = result.responses[0];
  assert.ok(response !== undefined, `a response to POST ${path}`);
  return response;
}

const json = (r: ParsedResponse): Record<string, unknown> =>
  JSON.parse(r.body.toString()) as Record<string, unknown>;

/** Unlocks the console; returns the cookie. */
async function unlock(server: RunningCask & { pin: string }): Promise<string> {
  const answer = await post(server, '/__cask__/pin', { pin: server.pin });
  assert.equal(answer.status, 200, answer.body.toString());
  const cookie = answer.headers['set-cookie'] ?? '';
  assert.match(cookie, /^cask_console=[\w-]+; Path=\/__cask__; HttpOnly; SameSite=Strict$/);
  return cookie.split(';')[0] as string;
}

/** The traceback id and the app frame's number on the error page of /boom. */
async function boom(server: RunningCask): Promise<{ traceback: string; frame: number }> {
  const page = (await get(server.port, '/boom')).body.toString();
  const traceback = /<body data-console="([\w-]+)">/.exec(page)?.[1];
  const frame = /<form class="console" data-frame="(\d+)">/.exec(page)?.[1];
  assert.ok(traceback !== undefined && frame !== undefined, 'the page offers a console');
  return { traceback, frame: Number(frame) };
}

test('the PIN unlocks the console, and a line runs in the frame of the exception', async (t) => {
  const server = await dev(t);
  const where = await boom(server);
  const locked = await post(server, '/__cask__/console', { ...where, code: 'count' });
  assert.equal(locked.status, 401);
  const wrong = await post(server, '/__cask__/pin', { pin: '000-000-000' });
  assert.equal(wrong.status, 403);
  assert.match(String(json(wrong)['error']), /Wrong PIN \(9 tries left\)/);

  const cookie = await unlock(server);
  const ran = await post(server, '/__cask__/console', { ...where, code: 'count * 2' }, { cookie });
  assert.equal(ran.status, 200);
  assert.deepEqual(json(ran), { output: '6\n' });
  await post(server, '/__cask__/console', { ...where, code: 'seen = count + 1' }, { cookie });
  const again = await post(
    server,
    '/__cask__/console',
    { ...where, code: 'print(seen)' },
    { cookie },
  );
  assert.deepEqual(json(again), { output: '4\n' });
  const error = await post(server, '/__cask__/console', { ...where, code: '1/0' }, { cookie });
  assert.match(String(json(error)['output']), /ZeroDivisionError/);
});

test('CVE-2024-34069 shapes: a foreign Host, a foreign or missing Origin never reach the console', async (t) => {
  const server = await dev(t);
  const where = await boom(server);
  const cookie = await unlock(server);
  const here = `127.0.0.1:${server.port}`;
  const refused: Array<[string, Post]> = [
    ['DNS rebinding: the Host is the attacker’s name', { host: `rebind.evil.test:${server.port}` }],
    ['a cross-site post: the Origin is another site', { origin: 'http://evil.test' }],
    ['another local server’s page', { origin: `http://127.0.0.1:${server.port + 1}` }],
    [
      'a loopback Origin with another host name',
      { host: here, origin: `http://localhost:${server.port}` },
    ],
    ['no Origin at all', { origin: null }],
    ['an Origin that is no URL', { origin: 'null' }],
  ];
  for (const [why, opts] of refused) {
    const answer = await post(
      server,
      '/__cask__/console',
      { ...where, code: 'count' },
      { ...opts, cookie },
    );
    assert.equal(answer.status, 403, why);
    assert.match(String(json(answer)['error']), /^Refused: /, why);
    const pin = await post(server, '/__cask__/pin', { pin: server.pin }, opts);
    assert.equal(pin.status, 403, `PIN: ${why}`);
  }
  assert.match(
    server.stderr(),
    /Console request refused \(the console only answers requests for localhost/,
  );
});

test('CVE-2019-14806 shape: the PIN and the cookie are random for each start, not derived', async (t) => {
  const one = await dev(t);
  const two = await dev(t);
  assert.notEqual(one.pin, two.pin);
  const cookieOfOne = await unlock(one);
  const where = await boom(two);
  const answer = await post(
    two,
    '/__cask__/console',
    { ...where, code: '1' },
    { cookie: cookieOfOne },
  );
  assert.equal(answer.status, 401, "one server's cookie is worth nothing to another");
});

test('10 wrong PINs lock the console until a restart, the right PIN included', async (t) => {
  const server = await dev(t);
  for (let i = 1; i <= 9; i++)
    assert.equal((await post(server, '/__cask__/pin', { pin: `${i}` })).status, 403);
  const tenth = await post(server, '/__cask__/pin', { pin: 'nope' });
  assert.equal(tenth.status, 423);
  const right = await post(server, '/__cask__/pin', { pin: server.pin });
  assert.equal(right.status, 423);
  assert.match(String(json(right)['error']), /locked after 10 wrong PINs/);
  assert.match(server.stderr(), /Console locked after 10 wrong PINs/);
});

test('no console on a listener bound to all addresses, nor in `cask serve`', async (t) => {
  const open = await dev(t, ['-b', '0.0.0.0:0']);
  const pin = await post(open, '/__cask__/pin', { pin: open.pin });
  assert.equal(pin.status, 403);
  assert.match(String(json(pin)['error']), /only served on a loopback listener/);

  const serve = await startCask(['app:application', '--chdir', project(t)]);
  t.after(() => serve.stop());
  const answer = await post(serve, '/__cask__/pin', { pin: '1' });
  assert.equal(answer.status, 404, 'the app answers: cask serve has no console');
  assert.equal(answer.body.toString(), 'not found');
  assert.doesNotMatch(serve.stderr(), /PIN/);
});
