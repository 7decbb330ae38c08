// Conditional requests (src/static/conditional.ts): RFC 9110 §13.2.2's order, and HTTP dates.
import { test, type TestContext } from 'node:test';
import {
  etagOf,
  evaluatePreconditions,
  parseEtagList,
  parseHttpDate,
} from '../../src/static/conditional.js';

const ETAG = '"abc-1"';
const MODIFIED = Date.UTC(2026, 0, 15, 12, 0, 0) / 1000;
const validators = { etag: ETAG, lastModified: MODIFIED };
const BEFORE = 'Wed, 14 Jan 2026 12:00:00 GMT';
const AT = 'Thu, 15 Jan 2026 12:00:00 GMT';
const AFTER = 'Fri, 16 Jan 2026 12:00:00 GMT';

const CASES: Array<[string, string, Record<string, string>, string]> = [
  ['no condition proceeds', 'GET', {}, 'proceed'],
  ['If-None-Match matching', 'GET', { ifNoneMatch: ETAG }, 'not-modified'],
  ['If-None-Match matching weakly', 'GET', { ifNoneMatch: `W/${ETAG}` }, 'not-modified'],
  ['If-None-Match in a list', 'HEAD', { ifNoneMatch: '"x", "abc-1"' }, 'not-modified'],
  ['If-None-Match: *', 'GET', { ifNoneMatch: '*' }, 'not-modified'],
  ['If-None-Match not matching', 'GET', { ifNoneMatch: '"other"' }, 'proceed'],
  ['If-None-Match matching on POST', 'POST', { ifNoneMatch: ETAG }, 'failed'],
  ['If-Modified-Since at the time', 'GET', { ifModifiedSince: AT }, 'not-modified'],
  ['If-Modified-Since after', 'GET', { ifModifiedSince: AFTER }, 'not-modified'],
  ['If-Modified-Since before', 'GET', { ifModifiedSince: BEFORE }, 'proceed'],
  ['If-Modified-Since not a date', 'GET', { ifModifiedSince: 'yesterday' }, 'proceed'],
  ['If-Modified-Since on POST', 'POST', { ifModifiedSince: AFTER }, 'proceed'],
  [
    'If-None-Match wins over If-Modified-Since',
    'GET',
    { ifNoneMatch: '"other"', ifModifiedSince: AFTER },
    'proceed',
  ],
  ['If-Match matching', 'GET', { ifMatch: ETAG }, 'proceed'],
  ['If-Match: *', 'GET', { ifMatch: '*' }, 'proceed'],
  ['If-Match not matching', 'GET', { ifMatch: '"other"' }, 'failed'],
  ['If-Match weak never matches', 'GET', { ifMatch: `W/${ETAG}` }, 'failed'],
  ['If-Unmodified-Since before', 'GET', { ifUnmodifiedSince: BEFORE }, 'failed'],
  ['If-Unmodified-Since at the time', 'GET', { ifUnmodifiedSince: AT }, 'proceed'],
  [
    'If-Match wins over If-Unmodified-Since',
    'GET',
    { ifMatch: ETAG, ifUnmodifiedSince: BEFORE },
    'proceed',
  ],
  [
    'If-Match failing comes before If-None-Match',
    'GET',
    { ifMatch: '"other"', ifNoneMatch: ETAG },
    'failed',
  ],
];

for (const [what, method, fields, expected] of CASES) {
  test(`\`evaluatePreconditions()\`: ${what} → ${expected}`, (t: TestContext) => {
    t.plan(1);
    t.assert.strictEqual(evaluatePreconditions(method, fields, validators), expected);
  });
}

test('`parseHttpDate()` reads the three forms RFC 9110 allows, as UTC', (t: TestContext) => {
  t.plan(3);
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  t.assert.strictEqual(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), expected);
  t.assert.strictEqual(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), expected);
  t.assert.strictEqual(parseHttpDate('Sun Nov  6 08:49:37 1994'), expected);
});

test('`parseHttpDate()` returns undefined for what is not an HTTP date', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(parseHttpDate('2026-01-15T12:00:00Z'), undefined);
  t.assert.strictEqual(parseHttpDate('Sun, 31 Feb 2026 08:49:37 GMT'), undefined);
  t.assert.strictEqual(parseHttpDate('Sun, 06 Nov 1994 25:49:37 GMT'), undefined);
  t.assert.strictEqual(parseHttpDate(''), undefined);
});

test('`parseEtagList()` splits tags, keeping commas inside quotes', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(parseEtagList('"a,b", W/"c" ,"d"'), ['"a,b"', 'W/"c"', '"d"']);
  t.assert.deepStrictEqual(parseEtagList('*'), ['*']);
});

test('`etagOf()` is strong and changes with size, mtime and inode', (t: TestContext) => {
  t.plan(4);
  const base = { size: 10, mtimeMs: 1_700_000_000_123.456, ino: 42 };
  const tag = etagOf(base);
  t.assert.match(tag, /^"[0-9a-z-]+"$/);
  t.assert.notStrictEqual(etagOf({ ...base, size: 11 }), tag);
  t.assert.notStrictEqual(etagOf({ ...base, mtimeMs: base.mtimeMs + 0.001 }), tag);
  t.assert.notStrictEqual(etagOf({ ...base, ino: 43 }), tag);
});
