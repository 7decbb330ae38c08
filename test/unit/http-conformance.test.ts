// Replays every request file of test/conformance/requests (style habit 12) through
// RequestParser whole, one byte at a time, and at seeded random split points, and compares
// what comes out with the .json beside it. The same bytes must give the same answer however
// the network happens to cut them.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { RequestParser, type ParserLimits, type RequestHead } from '../../src/http/parser.js';

interface Parsed extends Omit<RequestHead, 'headers'> {
  headers: [string, string][];
  body: string;
}

interface Outcome {
  requests: Parsed[];
  error: ProtocolError | null;
}

const root = new URL('../conformance/', import.meta.url);
const CODES: Record<number, string> = {
  400: 'CASK_HTTP_BAD_REQUEST',
  413: 'CASK_HTTP_BODY_TOO_LARGE',
  414: 'CASK_HTTP_URI_TOO_LONG',
  431: 'CASK_HTTP_HEADERS_TOO_LARGE',
  501: 'CASK_HTTP_NOT_IMPLEMENTED',
  505: 'CASK_HTTP_VERSION',
};
const limits = JSON.parse(readFileSync(new URL('limits.json', root), 'utf8')) as ParserLimits;

function files(kind: 'valid' | 'invalid'): { name: string; bytes: Buffer; expected: unknown }[] {
  const dir = new URL(`requests/${kind}/`, root);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.http'))
    .sort()
    .map((f) => ({
      name: `${kind}/${f}`,
      bytes: readFileSync(new URL(f, dir)),
      expected: JSON.parse(
        readFileSync(new URL(f.replace(/\.http$/, '.json'), dir), 'utf8'),
      ) as unknown,
    }));
}

/** mulberry32: a tiny seeded PRNG, so a failing split can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Ways to cut `bytes`: whole, every byte, and five seeded sets of 1 to 8 random cuts. */
function splits(name: string, bytes: Buffer): { label: string; chunks: Buffer[] }[] {
  const out = [
    { label: 'whole', chunks: [bytes] },
    { label: 'byte by byte', chunks: Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) },
  ];
  const next = random(hash(name));
  for (let k = 0; k < 5; k++) {
    const cuts = Array.from({ length: 1 + Math.floor(next() * 8) }, () =>
      Math.floor(next() * bytes.length),
    ).sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      chunks.push(bytes.subarray(from, cut));
      from = cut;
    }
    out.push({ label: `cut at ${cuts.join(',')}`, chunks });
  }
  return out;
}

function replay(chunks: Buffer[]): Outcome {
  const parser = new RequestParser(limits);
  const requests: Parsed[] = [];
  let current: { head: RequestHead; body: Buffer[] } | null = null;
  const drain = (): void => {
    for (let event = parser.next(); event !== null; event = parser.next()) {
      if (event.type === 'head') {
        assert.equal(current, null, 'head before the previous end');
        current = { head: event.head, body: [] };
      } else {
        assert.ok(current, `${event.type} before a head`);
        if (event.type === 'body') {
          assert.ok(event.chunk.length > 0, 'empty body event');
          current.body.push(Buffer.from(event.chunk)); // a view: copy before the next push()
        } else {
          const { headers, ...rest } = current.head;
          const pairs: [string, string][] = [];
          for (let i = 0; i < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
          requests.push({
            ...rest,
            headers: pairs,
            body: Buffer.concat(current.body).toString('latin1'),
          });
          current = null;
        }
      }
    }
  };
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      drain();
    }
    parser.finish();
    assert.equal(parser.buffered, 0, 'bytes left over after finish()');
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { requests, error: err };
  }
  return { requests, error: null };
}

for (const file of files('valid')) {
  test(`\`RequestParser\` parses ${file.name} at every split`, (t) => {
    const expected = file.expected as { requests: Parsed[] };
    const ways = splits(file.name, file.bytes);
    t.plan(ways.length * 2);
    for (const { label, chunks } of ways) {
      const outcome = replay(chunks);
      t.assert.equal(outcome.error?.message, undefined, `${label}: unexpected error`);
      t.assert.deepEqual(outcome.requests, expected.requests, label);
    }
  });
}

for (const file of files('invalid')) {
  test(`\`RequestParser\` refuses ${file.name} at every split`, (t) => {
    const expected = file.expected as { status: number; completeBefore: number };
    const ways = splits(file.name, file.bytes);
    t.plan(ways.length * 2);
    for (const { label, chunks } of ways) {
      const outcome = replay(chunks);
      t.assert.equal(
        outcome.error?.status,
        expected.status,
        `${label}: ${outcome.error?.message ?? 'no error'}`,
      );
      t.assert.equal(
        outcome.requests.length,
        expected.completeBefore,
        `${label}: requests before the error`,
      );
    }
  });
}

test('the conformance corpus has at least 25 valid and 40 invalid requests', (t: TestContext) => {
  t.plan(2);
  t.assert.ok(files('valid').length >= 25);
  t.assert.ok(files('invalid').length >= 40);
});

test('`ProtocolError` messages of the invalid corpus read "What failed: the value"', (t: TestContext) => {
  const invalid = files('invalid');
  t.plan(invalid.length * 3);
  for (const file of invalid) {
    const message = replay([file.bytes]).error?.message ?? '';
    t.assert.match(message, /^[A-Z][^:]*: ./, file.name);
    t.assert.doesNotMatch(message, /\.$/, file.name);
    t.assert.equal(
      replay([file.bytes]).error?.code,
      CODES[(file.expected as { status: number }).status],
      file.name,
    );
  }
});
