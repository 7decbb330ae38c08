// The uwsgi, SCGI and FastCGI decoders against the golden vectors of test/fixtures/proto-vectors
// (real nginx bytes and hand-made ones, written by scripts/gen-proto-vectors.py from its own
// reading of each specification): every vector whole, cut in two at every offset, and byte by
// byte must give the same events, and the same error where one is expected.

import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import {
  FastCgiDecoder,
  RecordType,
  encodeEndRequest,
  encodeFastCgiRequest,
  encodeResponseEnd,
  streamRecords,
} from '../../src/cgi/fastcgi.js';
import { ScgiDecoder, encodeScgiRequest } from '../../src/cgi/scgi.js';
import { UwsgiDecoder, encodeUwsgiRequest } from '../../src/cgi/uwsgi.js';
import { decoderLimits, type RequestDecoder, type DecoderLimits } from '../../src/cgi/wire.js';

type Event =
  | { type: 'head'; params: [string, string][]; keepConn: boolean }
  | { type: 'body'; hex: string }
  | { type: 'end' }
  | { type: 'abort' }
  | { type: 'reply'; hex: string };

interface Vector {
  name: string;
  hex: string;
  events: Event[];
  error?: string;
  limits?: DecoderLimits;
  maxConnections?: number;
}

interface VectorFile {
  requests: Vector[];
  responses?: Array<{
    name: string;
    encode: string;
    id: number;
    hex: string;
    protocolStatus?: number;
    length?: number;
    fill?: string;
  }>;
}

function load(name: string): VectorFile {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/proto-vectors/${name}.json`, import.meta.url), 'utf8'),
  ) as VectorFile;
}

const DEFAULT_LIMITS = decoderLimits({
  maxRequestLine: 4094,
  maxHeaderCount: 100,
  maxHeaderFieldSize: 8190,
});

const DECODERS: Record<string, (v: Vector) => RequestDecoder> = {
  uwsgi: (v) => new UwsgiDecoder(v.limits ?? DEFAULT_LIMITS),
  scgi: (v) => new ScgiDecoder(v.limits ?? DEFAULT_LIMITS),
  fastcgi: (v) =>
    new FastCgiDecoder({
      ...(v.limits ?? DEFAULT_LIMITS),
      maxConnections: v.maxConnections ?? 10000,
    }),
};

interface Outcome {
  events: Event[];
  error: string | undefined;
}

/** Feeds `pieces` one by one, pulling every event after each; body events are merged. */
function decode(decoder: RequestDecoder, pieces: Buffer[]): Outcome {
  const events: Event[] = [];
  const add = (event: Event): void => {
    const last = events[events.length - 1];
    if (event.type === 'body' && last?.type === 'body') last.hex += event.hex;
    else events.push(event);
  };
  try {
    for (const piece of pieces) {
      decoder.push(piece);
      for (let event = decoder.next(); event !== null; event = decoder.next()) {
        if (event.type === 'head') {
          const params: [string, string][] = [];
          for (let i = 0; i < event.params.length; i += 2) {
            params.push([event.params[i] as string, event.params[i + 1] as string]);
          }
          add({ type: 'head', params, keepConn: event.keepConn });
        } else if (event.type === 'body') add({ type: 'body', hex: event.chunk.toString('hex') });
        else if (event.type === 'reply') add({ type: 'reply', hex: event.bytes.toString('hex') });
        else {
          add({ type: event.type });
          // The driver answers each request before the next is read.
          if (event.type === 'end' || event.type === 'abort') decoder.responded();
        }
      }
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { events, error: error.code };
  }
  return { events, error: undefined };
}

for (const protocol of ['uwsgi', 'scgi', 'fastcgi']) {
  for (const vector of load(protocol).requests) {
    test(`the ${protocol} decoder reads "${vector.name}" whole, cut anywhere, and byte by byte`, (t: TestContext) => {
      const bytes = Buffer.from(vector.hex, 'hex');
      const cuts: Buffer[][] = [[bytes]];
      for (let at = 1; at < bytes.length; at++)
        cuts.push([bytes.subarray(0, at), bytes.subarray(at)]);
      cuts.push([...bytes].map((b) => Buffer.from([b])));
      t.plan(cuts.length);
      const expected: Outcome = { events: vector.events, error: vector.error };
      for (const pieces of cuts) {
        const outcome = decode(DECODERS[protocol]?.(vector) as RequestDecoder, pieces);
        t.assert.deepStrictEqual(
          outcome,
          expected,
          `${pieces.length} pieces, first ${pieces[0]?.length}`,
        );
      }
    });
  }
}

for (const vector of load('fastcgi').responses ?? []) {
  test(`the FastCGI encoder writes "${vector.name}"`, (t: TestContext) => {
    t.plan(1);
    let bytes: Buffer;
    if (vector.encode === 'responseEnd') bytes = encodeResponseEnd(vector.id);
    else if (vector.encode === 'endRequest')
      bytes = encodeEndRequest(vector.id, 0, vector.protocolStatus ?? 0);
    else {
      const content = Buffer.alloc(vector.length ?? 0, Buffer.from(vector.fill ?? '00', 'hex'));
      bytes = Buffer.concat(streamRecords(RecordType.STDOUT, vector.id, content));
    }
    t.assert.strictEqual(bytes.toString('hex'), vector.hex);
  });
}

test('`encodeUwsgiRequest()` and `encodeScgiRequest()` write what their decoders read', (t: TestContext) => {
  t.plan(2);
  const params = ['CONTENT_LENGTH', '3', 'SCGI', '1', 'REQUEST_METHOD', 'PUT'];
  const body = Buffer.from('abc');
  for (const [decoder, bytes] of [
    [new UwsgiDecoder(DEFAULT_LIMITS), encodeUwsgiRequest(params, body)],
    [new ScgiDecoder(DEFAULT_LIMITS), encodeScgiRequest(params, body)],
  ] as const) {
    t.assert.deepStrictEqual(decode(decoder, [bytes]), {
      events: [
        {
          type: 'head',
          params: [
            ['CONTENT_LENGTH', '3'],
            ['SCGI', '1'],
            ['REQUEST_METHOD', 'PUT'],
          ],
          keepConn: false,
        },
        { type: 'body', hex: body.toString('hex') },
        { type: 'end' },
      ],
      error: undefined,
    });
  }
});

test('`bodyAwaited` counts the raw body still to come in uwsgi and SCGI', (t: TestContext) => {
  t.plan(10);
  const params = ['CONTENT_LENGTH', '10', 'SCGI', '1', 'REQUEST_METHOD', 'PUT'];
  for (const [decoder, bytes] of [
    [new UwsgiDecoder(DEFAULT_LIMITS), encodeUwsgiRequest(params, Buffer.from('0123456789'))],
    [new ScgiDecoder(DEFAULT_LIMITS), encodeScgiRequest(params, Buffer.from('0123456789'))],
  ] as const) {
    const head = bytes.subarray(0, bytes.length - 10);
    t.assert.equal(decoder.bodyAwaited, 0); // nothing yet
    decoder.push(Buffer.concat([head, Buffer.from('01')]));
    t.assert.equal(decoder.bodyAwaited, 0); // the head is held, not decoded: no body begun
    t.assert.equal(decoder.next()?.type, 'head');
    t.assert.equal(decoder.bodyAwaited, 8); // "01" is held and counts as come
    while (decoder.next() !== null);
    decoder.push(Buffer.from('23456789'));
    while (decoder.next()?.type === 'body');
    t.assert.equal(decoder.bodyAwaited, 0); // whole
  }
});

test('`bodyAwaited` in FastCGI counts what is left of the current STDIN record, never past it', (t: TestContext) => {
  t.plan(6);
  const decoder = new FastCgiDecoder({ ...DEFAULT_LIMITS, maxConnections: 10 });
  const body = Buffer.alloc(70_000, 7); // two STDIN records: 65,535 bytes, then 4,465
  const bytes = encodeFastCgiRequest(1, ['CONTENT_LENGTH', '70000', 'REQUEST_METHOD', 'PUT'], body);
  const firstStdin = bytes.length - 8 - (70_000 + 16); // where the first STDIN header starts
  decoder.push(bytes.subarray(0, firstStdin + 8 + 100));
  t.assert.equal(decoder.next()?.type, 'head');
  t.assert.equal(decoder.bodyAwaited, 0); // the record's header is held, not read yet
  t.assert.equal(decoder.next()?.type, 'body'); // 100 bytes of the first record
  t.assert.equal(decoder.bodyAwaited, 65_535 - 100);
  t.assert.equal(decoder.next(), null);
  decoder.push(bytes.subarray(firstStdin + 8 + 100, firstStdin + 8 + 65_535));
  while (decoder.next() !== null);
  t.assert.equal(decoder.bodyAwaited, 0); // the next record's header must be read first
});
