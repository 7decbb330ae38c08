// Property-based fuzzing (fast-check) of the real front: cask with the echo app, fed arbitrary
// bytes, mutated corpus requests and generated near-valid pipelines, cut at arbitrary points
// and followed by EOF. Whatever comes, the server answers and closes within a bound (it never
// hangs), stays up, and the app sees exactly the requests the sans-IO parser accepts, in order
// and as parsed — nothing it refuses.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { RequestParser, type ParserLimits, type RequestHead } from '../../src/http/parser.js';
import type { RunningCask } from '../helpers/cask.js';
import { CORPUS, corpus, replay, startCorpusServer } from '../helpers/conformance.js';
import { get } from '../helpers/http.js';

const limits = JSON.parse(readFileSync(new URL('limits.json', CORPUS), 'utf8')) as ParserLimits;
const RUNS = Number(process.env.CASK_TEST_FUZZ_RUNS ?? 400);

interface Verdict {
  /** The requests the front must hand to the app, in order. */
  heads: RequestHead[];
  /** The status of the refusal that ends the connection, if any. */
  refusal: number | undefined;
  /** The refusal answers a whole HEAD request, so it has no body (RFC 9110 §9.3.2). */
  refusedHead?: boolean;
}

/**
 * What the front must do with `bytes` followed by EOF, from the parser alone: every request it
 * completes reaches the app until one that closes the connection; a target whose path decodes
 * to NUL is refused by the environ builder (400); a parse error is refused with its status.
 */
function verdict(bytes: Buffer): Verdict {
  const parser = new RequestParser(limits);
  const heads: RequestHead[] = [];
  try {
    parser.push(bytes);
    parser.finish();
    let head: RequestHead | undefined;
    for (let event = parser.next(); event !== null; event = parser.next()) {
      if (event.type === 'head') head = event.head;
      if (event.type !== 'end' || head === undefined) continue;
      if (/%00/.test(head.target.split('?')[0] as string)) {
        return { heads, refusal: 400, refusedHead: head.method === 'HEAD' };
      }
      heads.push(head);
      if (!head.keepAlive) return { heads, refusal: undefined };
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { heads, refusal: error.status };
  }
  return { heads, refusal: undefined };
}

const files = [...corpus('valid'), ...corpus('invalid')].map((f) => f.bytes);
const interesting = [
  0x0d, 0x0a, 0x20, 0x09, 0x00, 0x3a, 0x2c, 0x3b, 0x22, 0x30, 0x35, 0x61, 0x7f, 0x80, 0xff,
];

/** A corpus file with up to four random edits: flip, insert, delete, duplicate a slice. */
const mutated = fc
  .tuple(
    fc.constantFrom(...files),
    fc.array(
      fc.tuple(
        fc.constantFrom('flip', 'insert', 'delete', 'repeat'),
        fc.nat(),
        fc.constantFrom(...interesting),
        fc.nat({ max: 40 }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([file, edits]) => {
    let bytes = Buffer.from(file);
    for (const [op, at, byte, n] of edits) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (op === 'flip') bytes[i] = byte;
      else if (op === 'insert')
        bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
      else if (op === 'delete')
        bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
      else bytes = Buffer.concat([bytes.subarray(0, i + n), bytes.subarray(i)]);
    }
    return bytes;
  });

/** Mostly a plausible piece, now and then a hostile one. */
const pick = <T>(good: T[], bad: T[]): fc.Arbitrary<T> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...good) },
    { weight: 1, arbitrary: fc.constantFrom(...bad) },
  );

/** Pipelines of one to three requests built from plausible and hostile pieces. */
const request = fc
  .tuple(
    pick(['GET', 'POST', 'HEAD', 'PUT', 'get', 'M-SEARCH'], ['G T', '', 'GET\x00']),
    pick(
      ['/', '/a?b=c', '/caf\xe9', '/%41', 'http://h.test/x?y'],
      ['/%41%00', 'h:80', '/\x01', '/a b', '*'],
    ),
    pick(['HTTP/1.1'], ['HTTP/1.0', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ']),
    pick(
      ['Host: h', 'Host: h:8080', 'Host:'],
      ['Host: a b', 'Host: h\r\nHost: h', '', 'Host: a:b'],
    ),
    fc.array(
      pick(
        [
          'Connection: close',
          'Connection: keep-alive',
          'Expect: 100-continue',
          'X_Under: 1',
          'X-Forwarded-For: 192.0.2.1',
          'Accept: */*',
          'Cookie: a=1',
        ],
        [
          ' folded',
          'Bad Name: v',
          'X-Nul: a\x00b',
          'Transfer-Encoding:\x0bchunked',
          'Content-Length: 3, 3',
          'Content-Length: -1',
          'Transfer-Encoding: gzip, chunked',
        ],
      ),
      { maxLength: 3 },
    ),
    pick(
      [
        ['', ''],
        ['Content-Length: 3', 'abc'],
        ['Transfer-Encoding: chunked', '3\r\nabc\r\n0\r\n\r\n'],
        ['Transfer-Encoding: chunked', '0\r\nX: y\r\n\r\n'],
        ['Content-Length: 0', ''],
      ],
      [
        ['Transfer-Encoding: chunked', '5\r\nab'],
        ['Content-Length: 3', 'a'],
        ['Content-Length: 3\r\nTransfer-Encoding: chunked', '0\r\n\r\n'],
        ['Transfer-Encoding: chunked', 'zz\r\n'],
      ],
    ),
    pick(['\r\n'], ['\n', '\r\r\n']),
  )
  .map(([method, target, version, host, fields, [framing, body], eol]) => {
    const lines = [host, ...fields, framing].filter((l) => l !== '');
    return `${method} ${target} ${version}${eol}${lines.map((l) => `${l}${eol}`).join('')}${eol}${body}`;
  });
const pipeline = fc
  .array(request, { minLength: 1, maxLength: 3 })
  .map((rs) => Buffer.from(rs.join(''), 'latin1'));

const input = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: mutated },
  { weight: 3, arbitrary: pipeline },
);

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...points, bytes.length]) {
    if (at > from) chunks.push(bytes.subarray(from, at));
    from = at;
  }
  return chunks;
}

describe('cask under arbitrary bytes', () => {
  let server: RunningCask;
  before(async () => {
    server = await startCorpusServer(['--header-timeout', '2']);
  });
  after(() => server.stop());

  test(`${RUNS} fuzzed connections: answered as the parser decides, closed, and the server stays up`, async (t) => {
    await fc.assert(
      fc.asyncProperty(input, fc.array(fc.nat(), { maxLength: 6 }), async (bytes, cuts) => {
        const expected = verdict(bytes);
        const result = await replay(server.port, split(bytes, cuts), {
          halfClose: true,
          ms: 5000,
          headRequests: [
            ...expected.heads.map((h) => h.method === 'HEAD'),
            expected.refusedHead === true,
          ],
        });
        const finals = result.responses.filter((r) => r.status >= 200);
        const shown = JSON.stringify(bytes.toString('latin1').slice(0, 300));
        assert.ok(result.closed, `not closed within 5 s: ${shown}`);
        const statuses = finals.map((r) => r.status);
        const want = [
          ...expected.heads.map(() => 200),
          ...(expected.refusal === undefined ? [] : [expected.refusal]),
        ];
        assert.deepEqual(statuses, want, shown);
        expected.heads.forEach((head, i) => {
          if (head.method === 'HEAD') return;
          const seen = (
            JSON.parse(finals[i]!.body.toString('utf8')) as { environ: Record<string, string> }
          ).environ;
          assert.deepEqual([seen.REQUEST_METHOD, seen.RAW_URI], [head.method, head.target], shown);
        });
      }),
      { numRuns: RUNS, seed: Number(process.env.CASK_TEST_FUZZ_SEED ?? 5) },
    );
    assert.equal(server.proc.exitCode, null, 'the server is still running');
    assert.equal((await get(server.port, '/after-the-fuzz')).status, 200);
    t.diagnostic(
      `seed ${process.env.CASK_TEST_FUZZ_SEED ?? 5} (set CASK_TEST_FUZZ_SEED to explore others)`,
    );
  });
});
