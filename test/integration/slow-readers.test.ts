// Slow readers against a real cask: clients that ask for a 20 MiB answer and then read it at
// 16 bytes a second, or not at all, must not hold an app thread (docs/security.md, "Slow
// readers"). For each way a WSGI app can produce a large response, N = 4 × threads × workers
// such clients attach; the test shows the app's threads free, a fast client served as usual,
// the front's memory and its spool files within their caps, and every answer arriving whole
// once its client reads. Then clients that leave mid-spool, and the global spool cap.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { rss, sleep, until } from '../helpers/attacks.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get, parseResponses } from '../helpers/http.js';
import {
  fdsOn,
  inflight,
  openFds,
  p99,
  spoolFiles,
  spooledBytes,
  threadsFree,
} from '../helpers/slow-readers.js';

const MiB = 1024 * 1024;
const SIZE = 20 * MiB;
const THREADS = 2;
const WORKERS = 1;
const N = 4 * THREADS * WORKERS;

interface Reader {
  socket: Socket;
  /** Bytes taken from the socket so far. */
  taken(): number;
  /** Reads the rest at full speed; resolves with everything received once the server closes. */
  finish(): Promise<Buffer>;
  stop(): void;
}

/** A client that sends one request, then reads 16 bytes a second (or nothing at all). */
function slowReader(port: number, path: string, trickle: boolean): Promise<Reader> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let taken = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('error', () => {});
    socket.pause();
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
      if (trickle) {
        timer = setInterval(() => {
          const bytes = socket.read(16) as Buffer | null;
          if (bytes !== null) {
            chunks.push(bytes);
            taken += bytes.length;
          }
        }, 1000);
      }
      resolve({
        socket,
        taken: () => taken,
        finish() {
          clearInterval(timer);
          return new Promise((done) => {
            socket.on('data', (chunk: Buffer) => chunks.push(chunk));
            socket.on('close', () => done(Buffer.concat(chunks)));
            socket.resume();
          });
        },
        stop() {
          clearInterval(timer);
          socket.destroy();
        },
      });
    });
  });
}

async function slowReaders(port: number, path: string, n: number): Promise<Reader[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => slowReader(port, path, i % 2 === 0)));
}

/** Milliseconds each of `n` sequential requests took, failing on anything but 200. */
async function fastLatencies(port: number, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await get(port, '/ok', {}, { ms: 5000 });
    assert.equal(response.status, 200);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

describe('slow readers against cask', () => {
  let server: RunningCask;
  let pid: number;
  let spoolDir: string;
  let digest: string;
  const spools = (): number[] => spoolFiles(spoolDir, pid);

  before(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), 'cask-slow-readers-'));
    server = await startCask(
      [
        'big_responses:application', '--chdir', APPS, '-w', String(WORKERS), '--threads', String(THREADS),
        '--send-timeout', '120', '--response-spool-total', '1g',
      ], // prettier-ignore
      { env: { TMPDIR: spoolDir } },
    );
    pid = server.proc.pid as number;
    digest = (await get(server.port, '/digest')).body.toString();
    await fastLatencies(server.port, 20); // warm up before measuring memory
  });
  after(async () => {
    await server.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  for (const style of ['list', 'stream', 'write', 'wrapper', 'file']) {
    test(`${style}: ${N} slow readers of 20 MiB answers hold no thread, a fast client keeps its latency, every answer arrives whole`, async (t: TestContext) => {
      const port = server.port;
      const usual = await fastLatencies(port, 20);
      const base = rss(pid);
      const sent = Date.now();
      const readers = await slowReaders(port, `/${style}`, N);
      t.after(() => readers.forEach((r) => r.stop()));

      // The issue asks (#9) for every thread idle within a second of the answers being
      // produced. Produced: the generators, write() loops and wrappers are closed (/inflight
      // counts them); a list or a file is produced as it is returned, at once. Free: a burst
      // holding every thread for 0.2 s was answered within 0.5 s, so the threads were idle by
      // the time it was answered at the latest. Measured, produced → free: 214 to 433 ms with
      // this file alone on the two cores (load average 3 to 5 from other runs), but once 987 ms
      // with the HTTP/2 slow-reader suite running beside it: the front is then writing 160 MiB
      // to the page cache and a probe slowed past 0.5 s by the machine is retried, so the
      // measure overshoots by a probe or two. The bound is 1.5 s so that it holds on a loaded
      // machine; a thread held by a slow reader would be freed only by --send-timeout (120 s).
      // A list has no moment of production the test can see: its thread hands the 20 MiB to
      // the link as fast as the front takes it, so "produced" is counted from the asking and
      // includes moving all N answers (160 MiB) into the front's spool, which a loaded machine
      // was seen to need 1.7 s for. Its bound is therefore 5 s from the asking: still far from
      // the 120 s --send-timeout that would free a thread held by a slow reader.
      const bound = style === 'list' ? 5000 : 1500;
      let producedAt = style === 'list' || style === 'file' ? 0 : -1;
      let freeAt = -1;
      for (let waited = 0; freeAt < 0 && waited < 10_000; waited = Date.now() - sent) {
        if (producedAt < 0) {
          if ((await inflight(port)) === 0) producedAt = Date.now() - sent;
          else await sleep(10);
        } else if (await threadsFree(port, THREADS * WORKERS, 500)) freeAt = Date.now() - sent;
      }
      const during = await fastLatencies(port, 20);
      const onFile = spooledBytes(spoolDir, pid);
      const grew = rss(pid) - base;
      const trickled = readers.map((r) => r.taken());
      const stillOpen = readers.filter((r) => !r.socket.destroyed).length;

      const bodies = await Promise.all(readers.map((r) => r.finish()));
      const answers = bodies.map((raw) => parseResponses(raw).responses[0]);
      t.diagnostic(
        `answers produced ${producedAt} ms after asking, threads free ${freeAt} ms after; fast client p99 ${p99(usual).toFixed(1)} ms before, ` +
          `${p99(during).toFixed(1)} ms during; ${(onFile / MiB).toFixed(0)} MiB on file; front RSS +${(grew / MiB).toFixed(1)} MiB`,
      );
      t.plan(8);
      t.assert.ok(
        producedAt >= 0 && freeAt >= 0 && freeAt - producedAt <= bound,
        `answers produced ${producedAt} ms after asking, threads free ${freeAt} ms after (-1: not within 10 s)`,
      );
      // A fast client behind held threads would wait for --send-timeout (30 s) to free one;
      // the margin only absorbs the machine itself stalling while 160 MiB go to the page
      // cache beside the other tests (seen at 280 ms on a busy two-core runner).
      t.assert.ok(
        p99(during) < p99(usual) + 1000,
        `fast client p99 went from ${p99(usual)} ms to ${p99(during)} ms`,
      );
      t.assert.equal(
        stillOpen,
        N,
        'every slow reader was still connected while the fast client was served',
      );
      t.assert.ok(
        trickled.every((n) => n < 1024),
        `the slow readers took ${trickled.join(', ')} bytes`,
      );
      // Files are sent by the front from the app's own file, never spooled.
      if (style === 'file') t.assert.equal(onFile, 0);
      else t.assert.ok(onFile <= N * SIZE, `${onFile} bytes on file for ${N} answers of ${SIZE}`);
      t.assert.ok(
        grew < 64 * MiB,
        `the front grew by ${grew} bytes while ${N * 20} MiB were offered`,
      );
      t.assert.deepEqual(
        answers.map(
          (a) =>
            `${a?.status} ${a?.body.length} ${a && createHash('sha256').update(a.body).digest('hex')}`,
        ),
        Array(N).fill(`200 ${SIZE} ${digest}`),
      );
      // Spool files are removed asynchronously once their answers are sent; a leaked one
      // stays for ever, so the deadline can be generous for a loaded machine.
      t.assert.ok(
        await until(() => spools().length === 0, 10_000),
        `${spools().length} spool files left`,
      );
    });
  }

  for (const style of ['list', 'stream', 'write', 'wrapper', 'file']) {
    test(`${style}: clients that leave mid-spool leave no file, no descriptor and no busy thread behind`, async (t: TestContext) => {
      const port = server.port;
      const fds = openFds(pid);
      const readers = await slowReaders(port, `/${style}`, N);
      t.after(() => readers.forEach((r) => r.stop()));
      // A file is sent from the app's own file (cask-big-*) and never spooled: its clients
      // leave while the front holds that file open instead.
      const held = (): number =>
        style === 'file' ? fdsOn(pid, 'cask-big-') : fdsOn(pid, `cask-response-${pid}-`);
      const spooling = await until(
        () => held() === N && (style === 'file' || spools().length === N),
        15_000,
      );
      const count = held();
      for (const r of readers) r.stop();
      t.plan(5);
      t.assert.ok(spooling, `${count} of ${N} answers held a file open`);
      // The front closes and removes files, and the worker closes iterables, asynchronously
      // after the clients leave; what leaks stays for ever, so the deadlines are generous
      // for a loaded machine.
      t.assert.ok(await until(() => held() === 0, 10_000), `${held()} files still open`);
      t.assert.ok(
        await until(() => spools().length === 0, 10_000),
        `${spools().length} spool files left`,
      );
      t.assert.ok(
        await until(() => openFds(pid) <= fds, 10_000),
        `${openFds(pid)} descriptors open, ${fds} before`,
      );
      let left = await inflight(port);
      for (let waited = Date.now(); left > 0 && Date.now() - waited < 10_000;) {
        await sleep(100);
        left = await inflight(port);
      }
      t.assert.equal(left, 0, 'every iterable was closed');
    });
  }
});

describe('the global response spool cap', () => {
  test('past --response-spool-total the apps wait for their clients, disk use stays within the cap, and nothing is lost', async (t: TestContext) => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'cask-spool-cap-'));
    const server = await startCask(
      [
        'big_responses:application', '--chdir', APPS, '-w', '1', '--threads', '6',
        '--send-timeout', '120', '--response-spool-total', '8m',
      ], // prettier-ignore
      { env: { TMPDIR: spoolDir } },
    );
    t.after(async () => {
      await server.stop();
      rmSync(spoolDir, { recursive: true, force: true });
    });
    const pid = server.proc.pid as number;
    const onFile = (): number => spooledBytes(spoolDir, pid);
    const digest = (await get(server.port, '/digest')).body.toString();
    const readers = await slowReaders(server.port, '/stream', 4);
    t.after(() => readers.forEach((r) => r.stop()));
    await server.waitFor('Response spool full', 15_000);
    await sleep(500);
    const held = await inflight(server.port);
    const peak = onFile();
    const bodies = await Promise.all(readers.map((r) => r.finish()));
    const answers = bodies.map((raw) => parseResponses(raw).responses[0]);
    t.diagnostic(`${(peak / MiB).toFixed(1)} MiB on file with the cap at 8 MiB`);
    t.plan(4);
    t.assert.equal(held, 4, 'the four apps wait for their clients (two threads stay free)');
    // Each response over the cap adds at most one link window (1 MiB) before its app waits.
    t.assert.ok(peak <= 8 * MiB + 4 * MiB + 4096, `${peak} bytes on file`);
    t.assert.deepEqual(
      answers.map(
        (a) =>
          `${a?.status} ${a?.body.length} ${a && createHash('sha256').update(a.body).digest('hex')}`,
      ),
      Array(4).fill(`200 ${SIZE} ${digest}`),
    );
    t.assert.equal(await inflight(server.port), 0);
  });
});

describe('the per-response spool limit', () => {
  for (const style of ['stream', 'write']) {
    test(`${style}: past --response-spool-limit the app waits for its client, its thread alone is held, and every byte arrives`, async (t: TestContext) => {
      const spoolDir = mkdtempSync(join(tmpdir(), 'cask-spool-limit-'));
      const server = await startCask(
        [
          'big_responses:application', '--chdir', APPS, '-w', '1', '--threads', '2',
          '--send-timeout', '120', '--response-spool-limit', '4m',
        ], // prettier-ignore
        { env: { TMPDIR: spoolDir } },
      );
      t.after(async () => {
        await server.stop();
        rmSync(spoolDir, { recursive: true, force: true });
      });
      const { port } = server;
      const pid = server.proc.pid as number;
      const onFile = (): number => spooledBytes(spoolDir, pid);
      const digest = (await get(port, '/digest')).body.toString();
      const [reader] = await slowReaders(port, `/${style}`, 1);
      t.after(() => reader?.stop());
      // First until the spool holds more than 2 MiB (how fast it fills depends on the
      // machine), then a second more, to see it stop at the limit.
      let peak = 0;
      await until(() => (peak = Math.max(peak, onFile())) > 2 * MiB, 15_000);
      for (let i = 0; i < 20; i++) {
        peak = Math.max(peak, onFile());
        await sleep(50);
      }
      // The other thread serves while the app of the slow answer waits for its client. Were
      // both threads held, /sleep would wait until the slow client reads, which is after this
      // test gives up on it (10 s); the 5 s bound leaves a loaded machine seconds for a 0.2 s
      // request.
      const start = Date.now();
      const other = await get(port, '/sleep?0.2', {}, { ms: 10_000 });
      const took = Date.now() - start;
      const held = await inflight(port);
      peak = Math.max(peak, onFile());
      const raw = await (reader as Reader).finish();
      const answer = parseResponses(raw).responses[0];
      t.diagnostic(
        `${(peak / MiB).toFixed(1)} MiB on file with the limit at 4 MiB; /sleep took ${took} ms`,
      );
      t.plan(5);
      t.assert.equal(held, 1, 'the app of the slow answer waits for its client');
      t.assert.ok(other.status === 200 && took < 5000, `the other thread answered in ${took} ms`);
      // The limit, plus at most one link window (1 MiB) of bytes already on their way.
      t.assert.ok(peak > 2 * MiB && peak <= 5 * MiB + 64 * 1024, `${peak} bytes on file`);
      t.assert.equal(
        `${answer?.status} ${answer?.body.length} ${answer && createHash('sha256').update(answer.body).digest('hex')}`,
        `200 ${SIZE} ${digest}`,
      );
      t.assert.equal(await inflight(port), 0, 'the app was done once its client had read');
    });
  }
});
