// Replays the conformance corpus (test/conformance/requests) against Cask and against the
// peers it is compared with in docs/security.md — gunicorn, uWSGI and waitress, as the
// system Python runs them — and prints, as Markdown, every file on which a server's answer
// differs from what RFC 9112 (and the corpus) says. Not part of the test suite: the peers
// are not dependencies, and their verdicts are facts about them, not about Cask.
//
//   node --import tsx scripts/peer-conformance.ts [--json]
//
// Each file is sent whole and followed by EOF; the statuses the server sent (in order) and
// whether the app saw any request the corpus says to refuse are recorded. Limits are set
// to the corpus's where a peer has the option (see `servers` below); cases about limits a
// peer cannot set are marked as such in the output.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from '../test/helpers/cask.js';
import { CORPUS_LIMITS, corpus, replay } from '../test/helpers/conformance.js';

const PYTHON = process.env.PEER_PYTHON ?? '/usr/bin/python3';

// The app the peers run: it answers 200 with the method and target it saw, and reads the body.
const APP = `
def application(environ, start_response):
    n = environ.get("CONTENT_LENGTH") or "0"
    body = environ["wsgi.input"].read(int(n)) if n.isdigit() else b""
    data = ("%s %s %d" % (environ["REQUEST_METHOD"], environ.get("RAW_URI") or environ.get("REQUEST_URI", ""), len(body))).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
`;

interface Server {
  name: string;
  command: (port: number, dir: string) => [string, string[]];
}

const servers: Server[] = [
  {
    name: 'cask',
    command: (port, dir) => [process.execPath, [BIN, 'serve', 'peer_app:application', '--chdir', dir, '-b', `127.0.0.1:${port}`, '--python', PYTHON, ...CORPUS_LIMITS]],
  },
  {
    name: 'gunicorn',
    command: (port, dir) => [PYTHON, ['-m', 'gunicorn', '--chdir', dir, '-b', `127.0.0.1:${port}`, '--limit-request-line', '1024', '--limit-request-fields', '32', '--limit-request-field_size', '1024', 'peer_app:application']],
  },
  {
    name: 'uwsgi',
    command: (port, dir) => ['uwsgi', ['--plugin', 'python3', '--http-socket', `127.0.0.1:${port}`, '--chdir', dir, '--wsgi', 'peer_app:application', '--master', '--processes', '1', '--limit-post', '4096', '--disable-logging']],
  },
  {
    name: 'waitress',
    command: (port) => [PYTHON, ['-m', 'waitress', `--listen=127.0.0.1:${port}`, '--max-request-body-size=4096', 'peer_app:application']],
  },
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function ready(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await replay(port, [Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')], { ms: 500 }).catch(() => undefined);
    if (r?.responses[0]?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Server on port ${port} did not answer`);
}

interface Outcome {
  statuses: number[];
  closed: boolean;
}

async function run(server: Server, dir: string): Promise<Map<string, Outcome>> {
  const port = await freePort();
  const [cmd, args] = server.command(port, dir);
  const child: ChildProcess = spawn(cmd, args, { cwd: dir, stdio: 'ignore', detached: true });
  const out = new Map<string, Outcome>();
  try {
    await ready(port);
    for (const file of [...corpus('valid'), ...corpus('invalid')]) {
      const requests = (file.expected as { requests?: { method: string }[] }).requests ?? [];
      const headRequests = requests.map((q) => q.method === 'HEAD');
      const r = await replay(port, [file.bytes], { halfClose: true, ms: 3000, headRequests });
      out.set(file.name, { statuses: r.responses.filter((x) => x.status >= 200).map((x) => x.status), closed: r.closed });
    }
  } finally {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }
  return out;
}

function expectedOf(name: string): number[] {
  const file = [...corpus('valid'), ...corpus('invalid')].find((f) => f.name === name)!;
  if (name.startsWith('valid/')) {
    const requests = (file.expected as { requests: { keepAlive: boolean }[] }).requests;
    const last = requests.findIndex((r) => !r.keepAlive);
    return Array<number>(last === -1 ? requests.length : last + 1).fill(200);
  }
  const { status, completeBefore } = file.expected as { status: number; completeBefore: number };
  return [...Array<number>(completeBefore).fill(200), status];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cask-peers-'));
  writeFileSync(join(dir, 'peer_app.py'), APP);
  const results: Record<string, Record<string, Outcome>> = {};
  try {
    for (const server of servers) results[server.name] = Object.fromEntries(await run(server, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  const names = Object.keys(results.cask ?? {});
  const show = (o: Outcome | undefined): string => (o === undefined ? '?' : `${o.statuses.join(' ') || '—'}${o.closed ? '' : ' (open)'}`);
  console.log(`| request | RFC 9112 | ${servers.map((s) => s.name).join(' | ')} |`);
  console.log(`| --- | --- | ${servers.map(() => '---').join(' | ')} |`);
  let differing = 0;
  for (const name of names) {
    const want = expectedOf(name).join(' ');
    const row = servers.map((s) => show(results[s.name]?.[name]));
    if (row.every((cell) => cell === want)) continue;
    differing++;
    console.log(`| \`${name}\` | ${want} | ${row.join(' | ')} |`);
  }
  console.log(`\n${differing} of ${names.length} files where some server differs (run from ${ROOT}).`);
}

await main();
