// Property tests of the worker-link codec (fast-check), on the front's side and across the two
// languages: every frame and payload round-trips at every cut of the stream, arbitrary bytes
// only ever give frames or the codec's own errors, a worker that sends garbage cannot make
// the front's link throw, and what one side encodes the other decodes to the same values
// (python/tests/test_protocol_fuzz.py is the Python side's own seeded fuzzing).

import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { LinkProtocolError } from '../../src/errors.js';
import { FrameDecoder, FrameTooLargeError } from '../../src/ipc/framer.js';
import { WorkerLink, type LinkEvents } from '../../src/ipc/link.js';
import {
  HEADER_SIZE,
  Kind,
  decodeEnviron,
  decodeHead,
  decodeLog,
  decodeSendFile,
  decodeWindow,
  encodeEnviron,
  encodeFrame,
  encodeHead,
  encodeLog,
  encodeSendFile,
  encodeWindow,
} from '../../src/ipc/protocol.js';
import { ROOT } from '../helpers/cask.js';

const frame = fc.record({
  id: fc.integer({ min: 0, max: 0xffffffff }),
  kind: fc.integer({ min: 0, max: 255 }),
  flags: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 2000 }),
});

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  return chunks;
}

/** Latin-1 text without NUL: what an environ or head string can hold. */
const latin1Text = fc.string({
  unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

test('`FrameDecoder` gives back arbitrary frames at arbitrary cuts, whatever happens to the chunks after', (t: TestContext) => {
  t.plan(1);
  fc.assert(
    fc.property(
      fc.array(frame, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (frames, cuts) => {
        const stream = Buffer.concat(
          frames.map((f) => encodeFrame(f.id, f.kind, f.flags, Buffer.from(f.payload))),
        );
        const decoder = new FrameDecoder();
        const out: string[] = [];
        for (const piece of cut(stream, cuts)) {
          const chunk = Buffer.from(piece); // a scratch buffer, reused (zeroed) once pushed
          for (const f of decoder.push(chunk))
            out.push(`${f.id}/${f.kind}/${f.flags}/${f.payload.toString('hex')}`);
          chunk.fill(0);
        }
        const want = frames.map(
          (f) => `${f.id}/${f.kind}/${f.flags}/${Buffer.from(f.payload).toString('hex')}`,
        );
        return decoder.pending === 0 && out.join() === want.join();
      },
    ),
  );
  t.assert.ok(true);
});

test('`FrameDecoder` turns arbitrary bytes into frames or a FrameTooLargeError, and accounts for every byte', (t: TestContext) => {
  t.plan(1);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (bytes, cuts) => {
        const decoder = new FrameDecoder();
        let used = 0;
        try {
          for (const chunk of cut(Buffer.from(bytes), cuts)) {
            for (const f of decoder.push(chunk)) used += HEADER_SIZE + f.payload.length;
          }
        } catch (error) {
          if (error instanceof FrameTooLargeError) return true;
          throw error;
        }
        return used + decoder.pending === bytes.length;
      },
    ),
  );
  t.assert.ok(true);
});

test('the payload codecs round-trip arbitrary values', (t: TestContext) => {
  t.plan(1);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(latin1Text, latin1Text), { maxLength: 12 }),
      latin1Text,
      fc.uint8Array({ maxLength: 200 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.record({
        offset: fc.maxSafeNat(),
        length: fc.option(fc.maxSafeNat(), { nil: undefined }),
        path: fc.string({ unit: 'grapheme', maxLength: 30 }),
      }),
      fc.integer({ min: 0, max: 255 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      (pairs, status, body, window, file, level, text) => {
        const environ = Object.fromEntries(pairs);
        const head = decodeHead(encodeHead(status, pairs.flat(), Buffer.from(body)));
        return (
          JSON.stringify(decodeEnviron(encodeEnviron(Object.entries(environ).flat()))) ===
            JSON.stringify(environ) &&
          head.status === status &&
          head.headers.join('\0') === pairs.flat().join('\0') &&
          head.body.equals(Buffer.from(body)) &&
          decodeWindow(encodeWindow(window)) === window &&
          JSON.stringify(decodeSendFile(encodeSendFile(file))) === JSON.stringify(file) &&
          JSON.stringify(decodeLog(encodeLog(level, text))) === JSON.stringify({ level, text })
        );
      },
    ),
  );
  t.assert.ok(true);
});

test('the payload decoders throw nothing but LinkProtocolError (CASK_LINK_PROTOCOL) on arbitrary bytes', (t: TestContext) => {
  t.plan(1);
  const decoders = [decodeEnviron, decodeHead, decodeWindow, decodeSendFile, decodeLog];
  fc.assert(
    fc.property(fc.constantFrom(...decoders), fc.uint8Array({ maxLength: 64 }), (decode, bytes) => {
      try {
        decode(Buffer.from(bytes));
      } catch (error) {
        if (!(error instanceof LinkProtocolError && error.code === 'CASK_LINK_PROTOCOL')) throw error;
      }
    }),
  );
  t.assert.ok(true);
});

/** A socket stand-in for WorkerLink: what the link writes is dropped. */
class FakeSocket extends EventEmitter {
  write(): boolean {
    return true;
  }
  cork(): void {}
  uncork(): void {}
  destroy(): void {}
  setNoDelay(): void {}
}

test('`WorkerLink` survives arbitrary bytes from a worker: events, then at most one protocol error', (t: TestContext) => {
  t.plan(1);
  const worker = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
    fc
      .array(
        fc.record({
          id: fc.integer({ min: 0, max: 3 }),
          kind: fc.constantFrom(...Object.values(Kind), 0x00, 0x7f, 0xff),
          flags: fc.integer({ min: 0, max: 1 }),
          payload: fc.uint8Array({ maxLength: 40 }),
        }),
        { maxLength: 8 },
      )
      .map((frames) =>
        Buffer.concat(
          frames.map((f) => encodeFrame(f.id, f.kind, f.flags, Buffer.from(f.payload))),
        ),
      ),
  );
  fc.assert(
    fc.property(worker, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
      const socket = new FakeSocket();
      let errors = 0;
      let afterError = 0;
      const seen = (): void => {
        if (errors > 0) afterError++;
      };
      const events: LinkEvents = {
        onReady: seen,
        onLog: seen,
        onLoadError: seen,
        onStats: seen,
        onExchangeDone: seen,
        onReclaimed: seen,
        onProtocolError: () => errors++,
      };
      const link = new WorkerLink(socket as unknown as Socket, events);
      const sink = { onHead: seen, onData: seen, onSendFile: seen, onAppError: seen, onFail: seen };
      for (let id = 1; id <= 3; id++) link.open(id, sink);
      for (const chunk of cut(bytes, cuts)) socket.emit('data', chunk);
      return errors <= 1 && afterError === 0;
    }),
  );
  t.assert.ok(true);
});

/** Runs `code` in the test interpreter with python/ on its path; its stdout. */
function python(code: string, input: string): string {
  const result = spawnSync(process.env.CASK_TEST_PYTHON || 'python3', ['-c', code], {
    cwd: `${ROOT}python`,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return result.stdout;
}

const SAMPLES = 300;

test('python/cask_worker/protocol.py decodes what the TypeScript codec encodes, at its own cuts', (t: TestContext) => {
  const cases = fc.sample(
    fc.record({
      frames: fc.array(frame, { maxLength: 6 }),
      environ: fc.array(fc.tuple(latin1Text, latin1Text), { maxLength: 8 }),
      status: latin1Text,
      headers: fc.array(fc.tuple(latin1Text, latin1Text), { maxLength: 6 }),
      body: fc.uint8Array({ maxLength: 100 }),
      window: fc.integer({ min: 0, max: 0xffffffff }),
    }),
    { numRuns: SAMPLES, seed: 5 },
  );
  const input = cases
    .map((c) =>
      JSON.stringify({
        stream: Buffer.concat(
          c.frames.map((f) => encodeFrame(f.id, f.kind, f.flags, Buffer.from(f.payload))),
        ).toString('hex'),
        environ: encodeEnviron(c.environ.flat()).toString('hex'),
        head: encodeHead(c.status, c.headers.flat(), Buffer.from(c.body)).toString('hex'),
        window: encodeWindow(c.window).toString('hex'),
      }),
    )
    .join('\n');
  const output = python(
    `
import json, random, sys
from cask_worker import protocol as p
rng = random.Random(5)
for line in sys.stdin:
    case = json.loads(line)
    stream = bytes.fromhex(case["stream"])
    decoder, frames, at = p.FrameDecoder(), [], 0
    while at < len(stream):
        step = rng.randint(1, 64)
        frames += decoder.feed(stream[at:at + step])
        at += step
    status, headers, body = p.decode_head(bytes.fromhex(case["head"]))
    print(json.dumps({
        "frames": [[f.id, f.kind, f.flags, f.payload.hex()] for f in frames],
        "environ": p.decode_environ(bytes.fromhex(case["environ"])),
        "head": [status, [list(h) for h in headers], body.hex()],
        "window": p.decode_window(bytes.fromhex(case["window"])),
    }))
`,
    input,
  );
  const decoded = output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
  t.plan(1);
  t.assert.deepEqual(
    decoded,
    cases.map((c) => ({
      frames: c.frames.map((f) => [f.id, f.kind, f.flags, Buffer.from(f.payload).toString('hex')]),
      environ: Object.fromEntries(c.environ),
      head: [c.status, c.headers, Buffer.from(c.body).toString('hex')],
      window: c.window,
    })),
  );
});

test('the TypeScript codec decodes what python/cask_worker/protocol.py encodes', (t: TestContext) => {
  const output = python(
    `
import json, random
from cask_worker import protocol as p
rng = random.Random(7)
def text(n):
    return "".join(chr(rng.randint(1, 255)) for _ in range(rng.randint(0, n)))
for _ in range(${SAMPLES}):
    frames = [(rng.randint(0, 2**32 - 1), rng.randint(0, 255), rng.randint(0, 255), rng.randbytes(rng.randint(0, 300)))
              for _ in range(rng.randint(0, 5))]
    headers = [(text(10), text(20)) for _ in range(rng.randint(0, 5))]
    status, body = text(20), rng.randbytes(rng.randint(0, 50))
    offset, length, path = rng.randint(0, 2**53 - 1), rng.choice([None, rng.randint(0, 2**53 - 1)]), text(20)
    level, log = rng.randint(0, 255), text(40)
    print(json.dumps({
        "stream": b"".join(p.encode_frame(*f) for f in frames).hex(),
        "frames": [[f[0], f[1], f[2], f[3].hex()] for f in frames],
        "head": p.encode_head(status, headers, body).hex(),
        "head_view": [status, [x for h in headers for x in h], body.hex()],
        "sendfile": p.encode_sendfile(offset, length, path).hex(),
        "sendfile_view": {"offset": offset, "length": length, "path": path},
        "log": p.encode_log(level, log).hex(),
        "log_view": {"level": level, "text": log},
    }))
`,
    '',
  );
  const cases = output
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          stream: string;
          frames: [number, number, number, string][];
          head: string;
          head_view: [string, string[], string];
          sendfile: string;
          sendfile_view: { offset: number; length: number | null; path: string };
          log: string;
          log_view: { level: number; text: string };
        },
    );
  t.plan(SAMPLES * 4);
  for (const c of cases) {
    const frames = new FrameDecoder().push(Buffer.from(c.stream, 'hex'));
    t.assert.deepEqual(
      frames.map((f) => [f.id, f.kind, f.flags, f.payload.toString('hex')]),
      c.frames,
    );
    const head = decodeHead(Buffer.from(c.head, 'hex'));
    t.assert.deepEqual([head.status, head.headers, head.body.toString('hex')], c.head_view);
    const file = decodeSendFile(Buffer.from(c.sendfile, 'hex'));
    t.assert.deepEqual(file, { ...c.sendfile_view, length: c.sendfile_view.length ?? undefined });
    t.assert.deepEqual(decodeLog(Buffer.from(c.log, 'hex')), c.log_view);
  }
});
