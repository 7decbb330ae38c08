// Range requests (src/static/range.ts): parse into a union, resolve against the size.
import { test, type TestContext } from 'node:test';
import {
  MAX_RANGES,
  ifRangeAllows,
  multipartPlan,
  parseRange,
  resolveRanges,
} from '../../src/static/range.js';

const resolve = (value: string, size: number): unknown => resolveRanges(parseRange(value), size);
const partial = (...ranges: Array<[number, number]>): unknown => ({
  kind: 'partial',
  ranges: ranges.map(([start, end]) => ({ start, end })),
});

const CASES: Array<[string, number, unknown]> = [
  ['bytes=0-99', 1000, partial([0, 99])],
  ['bytes=900-', 1000, partial([900, 999])],
  ['bytes=-100', 1000, partial([900, 999])],
  ['bytes=-5000', 1000, partial([0, 999])],
  ['bytes=990-2000', 1000, partial([990, 999])],
  ['bytes=0-0,-1', 1000, partial([0, 0], [999, 999])],
  ['bytes=500-599, 0-99', 1000, partial([500, 599], [0, 99])],
  ['bytes=0-99,50-149', 1000, partial([0, 149])],
  ['bytes=0-99,100-199', 1000, partial([0, 199])],
  ['BYTES = 0-1', 10, partial([0, 1])],
  ['bytes=0-1,,2-3', 10, partial([0, 3])],
  ['bytes=1000-', 1000, { kind: 'unsatisfiable' }],
  ['bytes=-0', 1000, { kind: 'unsatisfiable' }],
  ['bytes=0-', 0, { kind: 'unsatisfiable' }],
  ['bytes=2000-3000,5000-', 1000, { kind: 'unsatisfiable' }],
  ['bytes=2000-3000,0-1', 1000, partial([0, 1])],
  ['items=0-1', 1000, { kind: 'full' }],
  ['bytes=5-1', 1000, { kind: 'full' }],
  ['bytes=a-b', 1000, { kind: 'full' }],
  ['bytes=1', 1000, { kind: 'full' }],
  ['bytes=', 1000, { kind: 'full' }],
  ['0-1', 1000, { kind: 'full' }],
];

for (const [value, size, expected] of CASES) {
  test(`\`resolveRanges()\` of "${value}" on ${size} bytes`, (t: TestContext) => {
    t.plan(1);
    t.assert.deepStrictEqual(resolve(value, size), expected);
  });
}

test(`\`parseRange()\` ignores a field with more than ${MAX_RANGES} ranges`, (t: TestContext) => {
  t.plan(2);
  const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`);
  t.assert.strictEqual(parseRange(`bytes=${many.join(',')}`).kind, 'ignored');
  t.assert.strictEqual(parseRange(`bytes=${many.slice(1).join(',')}`).kind, 'bytes');
});

test('`ifRangeAllows()` needs a strong tag match or the exact date', (t: TestContext) => {
  t.plan(6);
  const v = { etag: '"x-1"', lastModified: Date.UTC(2026, 0, 15, 12) / 1000 };
  t.assert.ok(ifRangeAllows(undefined, v));
  t.assert.ok(ifRangeAllows('"x-1"', v));
  t.assert.ok(!ifRangeAllows('W/"x-1"', v));
  t.assert.ok(!ifRangeAllows('"x-2"', v));
  t.assert.ok(ifRangeAllows('Thu, 15 Jan 2026 12:00:00 GMT', v));
  t.assert.ok(!ifRangeAllows('Fri, 16 Jan 2026 12:00:00 GMT', v));
});

test('`multipartPlan()` frames each part and counts the whole length', (t: TestContext) => {
  t.plan(4);
  const file = Buffer.from('0123456789abcdefghij');
  const plan = multipartPlan(
    [
      { start: 0, end: 1 },
      { start: 18, end: 19 },
    ],
    file.length,
    'text/plain; charset=utf-8',
    'B0UND',
  );
  const body = Buffer.concat([
    ...plan.parts.flatMap((p) => [p.head, file.subarray(p.range.start, p.range.end + 1)]),
    plan.tail,
  ]).toString('latin1');
  t.assert.strictEqual(plan.contentType, 'multipart/byteranges; boundary=B0UND');
  t.assert.strictEqual(plan.length, Buffer.byteLength(body));
  t.assert.strictEqual(
    body,
    '--B0UND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/20\r\n\r\n01' +
      '\r\n--B0UND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 18-19/20\r\n\r\nij' +
      '\r\n--B0UND--\r\n',
  );
  t.assert.strictEqual(plan.parts.length, 2);
});
