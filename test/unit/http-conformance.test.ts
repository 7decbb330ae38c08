// Replays every request file of test/conformance/requests through
// RequestParser whole, one byte at a time, and at seeded random split points, and compares
// what comes out with the .json beside it. The same bytes must give the same answer however
// the network happens to cut them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { RequestParser, type ParserLimits, type RequestHead } from '../../src/http/parser.js';
import { CORPUS, corpus, randomWays } from '../helpers/conformance.js';

interface Parsed extends Omit<RequestHead, 'headers' | 'protocol'> {
  headers: [string, string][];
  body: string;
}

interface Outcome {
  requests: Parsed[];
  error: ProtocolError | null;
}

const CODES: Record<number, string> = {
  400: 'CASK_HTTP_BAD_REQUEST',
  413: 'CASK_HTTP_BODY_TOO_LARGE',
  414: 'CASK_HTTP_URI_TOO_LONG',
  431: 'CASK_HTTP_HEADERS_TOO_LARGE',
  501: 'CASK_HTTP_NOT_IMPLEMENTED',
  505: 'CASK_HTTP_VERSION',
};
const limits = JSON.parse(readFileSync(new URL('limits.json', CORPUS), 'utf8')) as ParserLimits;
const files = corpus;

/** Ways to cut `bytes`: whole, every byte, and five seeded sets of 1 to 8 random cuts. */
function splits(name: string, bytes: Buffer): { label: string; chunks: Buffer[] }[] {
  return [
    { label: 'whole', chunks: [bytes] },
    { label: 'byte by byte', chunks: Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) },
    ...randomWays(name, bytes, 5),
  ];
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
          // `protocol` restates the version the corpus gives as versionMinor.
          const { headers, protocol: _protocol, ...rest } = current.head;
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

test('the conformance corpus has at least 50 valid and 140 invalid requests', (t: TestContext) => {
  t.plan(2);
  t.assert.ok(files('valid').length >= 50);
  t.assert.ok(files('invalid').length >= 140);
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
