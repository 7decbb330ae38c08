import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder, FrameTooLargeError } from '../../src/ipc/framer.js';
import {
  HEADER_SIZE,
  Kind,
  MAX_PAYLOAD,
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
  encodeWsAccept,
  encodeWsClose,
  decodeWsAccept,
  decodeWsClose,
  frameHeader,
} from '../../src/ipc/protocol.js';

interface Vector {
  name: string;
  hex: string;
  id: number;
  kind: number;
  flags: number;
  payload_hex: string;
  environ?: Record<string, string>;
  head?: { status: string; headers: [string, string][]; body_hex: string };
  window?: number;
  sendfile?: { offset: number; length: number; path: string };
  log?: { level: number; text: string };
  ws_close?: { code: number; reason: string };
  ws_accept?: { subprotocol: string | null; headers: [string, string][] };
}

const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/ipc-vectors/vectors.json', import.meta.url), 'utf8'),
) as Vector[];

test('the byte vectors cover every frame kind of docs/protocol.md', () => {
  const kinds = new Set(vectors.map((v) => v.kind));
  for (const kind of [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0a, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
    0x17, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x0c, 0x0d, 0x0e, 0x0f, 0x19, 0x1a, 0x1b,
  ]) {
    assert.ok(kinds.has(kind), `no vector for kind 0x${kind.toString(16)}`);
  }
});

for (const v of vectors) {
  test(`FrameDecoder decodes and encodeFrame re-encodes the vector "${v.name}"`, () => {
    const bytes = Buffer.from(v.hex, 'hex');
    const frames = new FrameDecoder().push(bytes);
    assert.equal(frames.length, 1);
    const frame = frames[0]!;
    assert.equal(frame.id, v.id);
    assert.equal(frame.kind, v.kind);
    assert.equal(frame.flags, v.flags);
    assert.equal(frame.payload.toString('hex'), v.payload_hex);
    assert.equal(
      encodeFrame(v.id, v.kind, v.flags, Buffer.from(v.payload_hex, 'hex')).toString('hex'),
      v.hex,
    );
    if (v.environ) {
      assert.deepEqual(decodeEnviron(frame.payload), v.environ);
      assert.equal(encodeEnviron(Object.entries(v.environ).flat()).toString('hex'), v.payload_hex);
    }
    if (v.head) {
      const head = decodeHead(frame.payload);
      assert.equal(head.status, v.head.status);
      assert.deepEqual(head.headers, v.head.headers.flat());
      assert.equal(head.body.toString('hex'), v.head.body_hex);
      const again = encodeHead(
        v.head.status,
        v.head.headers.flat(),
        Buffer.from(v.head.body_hex, 'hex'),
      );
      assert.equal(again.toString('hex'), v.payload_hex);
    }
    if (v.window !== undefined) {
      assert.equal(decodeWindow(frame.payload), v.window);
      assert.equal(encodeWindow(v.window).toString('hex'), v.payload_hex);
    }
    if (v.sendfile) {
      const file = decodeSendFile(frame.payload);
      const length = v.sendfile.length === -1 ? undefined : v.sendfile.length;
      assert.deepEqual(file, { offset: v.sendfile.offset, length, path: v.sendfile.path });
      assert.equal(encodeSendFile({ ...v.sendfile, length }).toString('hex'), v.payload_hex);
    }
    if (v.log) {
      assert.deepEqual(decodeLog(frame.payload), v.log);
      assert.equal(encodeLog(v.log.level, v.log.text).toString('hex'), v.payload_hex);
    }
    if (v.ws_close) {
      assert.deepEqual(decodeWsClose(frame.payload), v.ws_close);
      if (v.payload_hex !== '') {
        assert.equal(encodeWsClose(v.ws_close.code, v.ws_close.reason).toString('hex'), v.payload_hex);
      }
    }
    if (v.ws_accept) {
      const subprotocol = v.ws_accept.subprotocol ?? undefined;
      assert.deepEqual(decodeWsAccept(frame.payload), { subprotocol, headers: v.ws_accept.headers.flat() });
      assert.equal(encodeWsAccept(subprotocol, v.ws_accept.headers.flat()).toString('hex'), v.payload_hex);
    }
  });
}

test('FrameDecoder returns the same frames however the stream is split', () => {
  const stream = Buffer.concat(vectors.map((v) => Buffer.from(v.hex, 'hex')));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const decoder = new FrameDecoder();
      const seen: string[] = [];
      let from = 0;
      for (const at of [...points, stream.length]) {
        // Reuse one scratch buffer per chunk, as a socket may, to prove payloads are not aliased.
        const chunk = Buffer.from(stream.subarray(from, at));
        for (const f of decoder.push(chunk))
          seen.push(encodeFrame(f.id, f.kind, f.flags, f.payload).toString('hex'));
        chunk.fill(0);
        from = at;
      }
      assert.deepEqual(
        seen,
        vectors.map((v) => v.hex),
      );
      assert.equal(decoder.pending, 0);
    }),
  );
});

test('FrameDecoder holds no more than the frame a chunk boundary cut, on a long stream', () => {
  // A response streamed in 64 KiB pieces is read in 64 KiB chunks: every frame (12 bytes
  // longer than a chunk) is cut. Nothing handed out may pin more than a chunk or its own
  // payload, however long the stream (a growing merge buffer once pinned megabytes).
  const payload = Buffer.alloc(65536, 0x64);
  const frame = encodeFrame(7, Kind.DATA, 0, payload);
  const stream = Buffer.concat(Array.from({ length: 200 }, () => frame));
  const decoder = new FrameDecoder();
  let frames = 0;
  for (let at = 0; at < stream.length; at += 65536) {
    const chunk = Buffer.from(stream.subarray(at, at + 65536));
    for (const f of decoder.push(chunk)) {
      frames++;
      assert.ok(f.payload.equals(payload));
      assert.ok(
        f.payload.buffer.byteLength <= 65536 + HEADER_SIZE,
        `pins ${f.payload.buffer.byteLength} bytes`,
      );
    }
    assert.ok(decoder.pending <= frame.length);
  }
  assert.equal(frames, 200);
  assert.equal(decoder.pending, 0);
});

test('encodeFrame round-trips arbitrary frames through FrameDecoder', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          id: fc.integer({ min: 0, max: 0xffffffff }),
          kind: fc.integer({ min: 0, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
          payload: fc.uint8Array({ maxLength: 300 }),
        }),
        { maxLength: 10 },
      ),
      (frames) => {
        const bytes = Buffer.concat(
          frames.map((f) => encodeFrame(f.id, f.kind, f.flags, Buffer.from(f.payload))),
        );
        const out = new FrameDecoder().push(bytes);
        assert.deepEqual(
          out.map((f) => ({
            id: f.id,
            kind: f.kind,
            flags: f.flags,
            payload: new Uint8Array(f.payload),
          })),
          frames.map((f) => ({ ...f, payload: new Uint8Array(f.payload) })),
        );
      },
    ),
  );
});

test('FrameDecoder rejects a length field over MAX_PAYLOAD', () => {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32BE(MAX_PAYLOAD + 1, 0);
  assert.throws(() => new FrameDecoder().push(header), FrameTooLargeError);
});

test('frameHeader refuses to build an oversized frame', () => {
  assert.throws(() => frameHeader(1, 1, 0, MAX_PAYLOAD + 1), RangeError);
});

test('decodeHead rejects a head length past the payload with CASK_LINK_PROTOCOL', () => {
  const payload = Buffer.alloc(6);
  payload.writeUInt32BE(10, 0);
  assert.throws(() => decodeHead(payload), { name: 'LinkProtocolError', code: 'CASK_LINK_PROTOCOL', status: 502 });
});
