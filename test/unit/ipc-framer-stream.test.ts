// The framer's stream kind (the worker's DATA): a frame cut by a chunk boundary is handed out
// in parts, each a view of the chunk it came in, only the last part carrying the flags; other
// kinds are still handed out whole. Checked on exact bytes and on every cut of one stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder, FrameTooLargeError } from '../../src/ipc/framer.js';
import { FLAG_END, Kind, MAX_PAYLOAD, encodeFrame, type Frame } from '../../src/ipc/protocol.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('a DATA frame cut in three chunks comes out as three views, END on the last only', () => {
  // DATA, id 7, END, payload "abcdef": header 00000006 00000007 12 01 0000.
  const bytes = hex('00000006 00000007 12 01 0000 616263646566');
  assert.deepEqual(bytes, encodeFrame(7, Kind.DATA, FLAG_END, Buffer.from('abcdef')));
  const decoder = new FrameDecoder(Kind.DATA);
  const first = bytes.subarray(0, 14);
  const second = bytes.subarray(14, 16);
  const third = bytes.subarray(16);
  const a = decoder.push(first);
  const b = decoder.push(second);
  const c = decoder.push(third);
  assert.deepEqual(
    [...a, ...b, ...c].map((f) => [f.id, f.kind, f.flags, f.payload.toString('latin1')]),
    [
      [7, Kind.DATA, 0, 'ab'],
      [7, Kind.DATA, 0, 'cd'],
      [7, Kind.DATA, FLAG_END, 'ef'],
    ],
  );
  // Views, not copies: the parts share memory with the chunks they came in.
  assert.equal((a[0] as Frame).payload.buffer, first.buffer);
  assert.equal((c[0] as Frame).payload.buffer, third.buffer);
  assert.equal(decoder.pending, 0);
});

test('a DATA frame whose header is cut waits for the header, then streams', () => {
  const bytes = encodeFrame(3, Kind.DATA, 0, Buffer.from('xyz'));
  const decoder = new FrameDecoder(Kind.DATA);
  assert.deepEqual(decoder.push(bytes.subarray(0, 5)), []);
  const parts = [...decoder.push(bytes.subarray(5, 13)), ...decoder.push(bytes.subarray(13))];
  assert.deepEqual(
    parts.map((f) => [f.id, f.flags, f.payload.toString('latin1')]),
    [
      [3, 0, 'x'],
      [3, 0, 'yz'],
    ],
  );
});

test('other kinds stay whole; an empty DATA frame with END is one frame', () => {
  const head = encodeFrame(1, Kind.HEAD, 0, Buffer.from('head-bytes'));
  const empty = encodeFrame(1, Kind.DATA, FLAG_END);
  const all = Buffer.concat([head, empty]);
  const decoder = new FrameDecoder(Kind.DATA);
  const frames = [...decoder.push(all.subarray(0, 15)), ...decoder.push(all.subarray(15))];
  assert.deepEqual(
    frames.map((f) => [f.kind, f.flags, f.payload.toString('latin1')]),
    [
      [Kind.HEAD, 0, 'head-bytes'],
      [Kind.DATA, FLAG_END, ''],
    ],
  );
});

test('every cut of a mixed stream gives the same frames, DATA joined back byte for byte', () => {
  const payload = Buffer.alloc(300);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const stream = Buffer.concat([
    encodeFrame(1, Kind.HEAD, 0, Buffer.from('h1')),
    encodeFrame(1, Kind.DATA, 0, payload.subarray(0, 100)),
    encodeFrame(2, Kind.LOG, 0, Buffer.from('log line')),
    encodeFrame(1, Kind.DATA, FLAG_END, payload.subarray(100)),
  ]);
  for (let cut = 1; cut < stream.length; cut++) {
    for (const size of [1, 7, 64]) {
      const decoder = new FrameDecoder(Kind.DATA);
      const frames: Frame[] = [];
      frames.push(...decoder.push(stream.subarray(0, cut)));
      for (let pos = cut; pos < stream.length; pos += size)
        frames.push(...decoder.push(stream.subarray(pos, Math.min(pos + size, stream.length))));
      const data = frames.filter((f) => f.kind === Kind.DATA);
      assert.deepEqual(Buffer.concat(data.map((f) => f.payload)), payload, `cut ${cut}/${size}`);
      assert.deepEqual(
        data.map((f) => f.flags).filter((flags) => flags !== 0),
        [FLAG_END],
      );
      assert.equal((data.at(-1) as Frame).flags, FLAG_END);
      assert.deepEqual(
        frames.filter((f) => f.kind !== Kind.DATA).map((f) => f.payload.toString('latin1')),
        ['h1', 'log line'],
      );
      assert.equal(decoder.pending, 0);
    }
  }
});

test('a DATA frame announcing more than MAX_PAYLOAD is refused before any part', () => {
  const header = hex('00000000 00000001 12 00 0000');
  header.writeUInt32BE(MAX_PAYLOAD + 1, 0);
  const decoder = new FrameDecoder(Kind.DATA);
  assert.throws(() => decoder.push(Buffer.concat([header, Buffer.alloc(4)])), FrameTooLargeError);
});
