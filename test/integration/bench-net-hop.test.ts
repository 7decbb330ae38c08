// The net-hop floor as `cask bench` starts it: the launcher with a real python3 behind it,
// driven over real sockets. Every answer must have crossed to the Python process and back;
// when that process dies the launcher must fail loudly rather than hang the bench, and when
// the launcher is stopped the Python process must not outlive it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { CLOSING_RESPONSE, RESPONSE } from '../../bench/launchers/raw-net.mjs';
import { python } from '../helpers/bench.js';
import { alive } from '../helpers/cask.js';
import { until } from '../helpers/load.js';
import { freePort } from '../helpers/ports.js';
import { policyOf } from '../helpers/procfs.js';
import { waitForPort } from '../helpers/proxies.js';

const LAUNCHER = fileURLToPath(new URL('../../bench/launchers/net-hop.mjs', import.meta.url));
const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const CLOSE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
const SCHED_BATCH = 3;
const skip = python === undefined ? 'python3 is not on PATH' : false;

interface Hop {
  proc: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startHop(t: TestContext): Promise<Hop> {
  const port = await freePort();
  const proc = spawn(process.execPath, [LAUNCHER, String(port), python as string], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  await waitForPort(port);
  return { proc, port, stderr: () => err, exited };
}

/** The Python process the launcher started (its only child). */
function pythonChild(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1 || children[0] === '') throw new Error(`children: ${children}`);
  return Number(children[0]);
}

/** Sends `text` on a new connection; resolves with everything read until the server's FIN. */
async function exchange(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(text);
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}

test('net-hop answers each request after its round trip to python3, pipelined or closing', { skip, timeout: 30_000 }, async (t: TestContext) => {
  const hop = await startHop(t);
  const child = pythonChild(hop.proc.pid as number);
  t.assert.match(readFileSync(`/proc/${child}/cmdline`, 'latin1'), /net_hop\.py/);
  // Two requests, then a closing one, then one more that must not be answered.
  const got = await exchange(hop.port, GET + GET + CLOSE + GET);
  t.assert.strictEqual(got, RESPONSE.toString('latin1').repeat(2) + CLOSING_RESPONSE.toString('latin1'));
  // The Python process runs under the batch policy, as Cask's workers do by default.
  t.assert.strictEqual(policyOf(readFileSync(`/proc/${child}/stat`, 'latin1')), SCHED_BATCH);
  hop.proc.kill('SIGTERM');
  t.assert.deepStrictEqual(await hop.exited, [0, null]);
  await until(() => !alive(child), 5_000, 'the Python process to end with the launcher');
});

test('net-hop exits non-zero, saying why, when its Python process dies', { skip, timeout: 30_000 }, async (t: TestContext) => {
  const hop = await startHop(t);
  const child = pythonChild(hop.proc.pid as number);
  process.kill(child, 'SIGKILL');
  t.assert.deepStrictEqual(await hop.exited, [1, null]);
  t.assert.match(hop.stderr(), /net-hop: the Python process ended \(SIGKILL\)/);
});

test('net-hop refuses to start without a usable port or Python', { skip, timeout: 30_000 }, async (t: TestContext) => {
  const noPort = spawn(process.execPath, [LAUNCHER], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  noPort.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  t.assert.deepStrictEqual(await once(noPort, 'exit'), [2, null]);
  t.assert.match(err, /usage: node net-hop\.mjs PORT/);

  const port = await freePort();
  const noPython = spawn(process.execPath, [LAUNCHER, String(port), '/nonexistent/python3'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err2 = '';
  noPython.stderr?.on('data', (d: Buffer) => (err2 += d.toString()));
  t.assert.deepStrictEqual(await once(noPython, 'exit'), [1, null]);
  t.assert.match(err2, /net-hop: cannot start \/nonexistent\/python3/);
});
