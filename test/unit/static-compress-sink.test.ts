// The compressing sink (src/static/compress.ts) keeps the credit rule of src/exchange.ts: the
// app is credited for its bytes only once the transport's sink has credited what they became.
import { test, type TestContext } from 'node:test';
import { constants, gunzipSync } from 'node:zlib';
import type { Flushed, ResponseSink } from '../../src/exchange.js';
import { CompressingSink } from '../../src/static/compress.js';
import { DEFAULT_COMPRESS_TYPES, typeMatcher } from '../../src/static/types.js';
import { until } from '../helpers/load.js';

/** A transport's sink that holds credit until told to pay it. */
class HoldingSink implements ResponseSink {
  status = 0;
  bytesSent = 0;
  headSent = false;
  finished = false;
  readonly chunks: Buffer[] = [];
  readonly unpaid: Array<() => void> = [];
  head(status: string, _h: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
    this.status = Number.parseInt(status, 10);
    this.headSent = true;
    this.data(body, end, flushed);
  }
  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    this.chunks.push(chunk);
    if (flushed !== undefined) this.unpaid.push(() => flushed(chunk.length));
    if (end) this.finished = true;
  }
  file(): void {}
  fail(): void {}
  abort(): void {}
  payAll(): void {
    for (const pay of this.unpaid.splice(0)) pay();
  }
}

const rules = { minSize: 10, types: typeMatcher(DEFAULT_COMPRESS_TYPES) };
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/** What the compressed output handed to the inner sink so far decodes to. */
function decodedSoFar(inner: HoldingSink): string {
  if (inner.chunks.length === 0) return '';
  return gunzipSync(Buffer.concat(inner.chunks), {
    finishFlush: constants.Z_SYNC_FLUSH,
  }).toString();
}

test('`CompressingSink` credits the app only after the transport credits the output', async (t: TestContext) => {
  t.plan(4);
  const inner = new HoldingSink();
  const sink = new CompressingSink(inner, rules, { coding: 'gzip', ranged: false });
  let credited = 0;
  const flushed = (n: number): void => {
    credited += n;
  };
  // The transport pays whatever it holds on each poll until the app has `bytes` credited.
  const creditedFor = (bytes: number, what: string): Promise<number> =>
    until(
      () => {
        inner.payAll();
        return credited >= bytes;
      },
      10_000,
      what,
    );
  const piece = Buffer.from('hello compressed world\n'.repeat(100));
  sink.head('200 OK', ['Content-Type', 'text/plain'], piece, false, flushed);
  sink.data(piece, false, flushed);
  // Both pieces have reached the transport (each is flushed through the compressor) ...
  // node:zlib compresses on the libuv thread pool, so how long that takes depends on how busy
  // the machine is: a fixed wait passed here and failed on a loaded CI runner.
  await until(
    () => decodedSoFar(inner) === piece.toString().repeat(2),
    10_000,
    'two pieces compressed',
  );
  await tick();
  // ... and the transport has not credited them, so neither has the app been.
  t.assert.strictEqual(credited, 0, 'credited before the transport took the bytes');
  // The compressor's flush callbacks, which record what is owed, may come a little after the
  // output itself, so the transport pays on each poll until the app is credited.
  await creditedFor(2 * piece.length, 'the app credited for two pieces');
  t.assert.strictEqual(credited, 2 * piece.length);
  sink.data(piece, true, flushed);
  await creditedFor(3 * piece.length, 'the app credited for the last piece');
  t.assert.strictEqual(credited, 3 * piece.length);
  t.assert.strictEqual(
    gunzipSync(Buffer.concat(inner.chunks)).toString(),
    piece.toString().repeat(3),
  );
});

test('`CompressingSink` passes a response it does not compress straight through', (t: TestContext) => {
  t.plan(3);
  const inner = new HoldingSink();
  const sink = new CompressingSink(inner, rules, { coding: 'br', ranged: false });
  let credited = 0;
  sink.head('200 OK', ['Content-Type', 'image/png'], Buffer.from('PNG....'), true, (n) => {
    credited += n;
  });
  t.assert.strictEqual(inner.chunks[0]?.toString(), 'PNG....');
  t.assert.strictEqual(credited, 0);
  inner.payAll();
  t.assert.strictEqual(credited, 7);
});
