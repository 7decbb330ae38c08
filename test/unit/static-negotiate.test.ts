// Content negotiation and response headers of static files and --compress: Accept-Encoding
// q-values, MIME types and charsets, Cache-Control, compressible types, compression decisions.
import { test, type TestContext } from 'node:test';
import { compressedHeaders, decideCompression, withVary } from '../../src/static/compress-plan.js';
import { acceptedCodings, chooseCoding } from '../../src/static/encoding.js';
import {
  cacheControl,
  contentTypeOf,
  isFingerprinted,
  loadContentTypes,
} from '../../src/static/headers.js';
import { DEFAULT_COMPRESS_TYPES, checkTypePattern, typeMatcher } from '../../src/static/types.js';

const CHOICES: Array<[string | undefined, Array<'br' | 'zstd' | 'gzip'>, string]> = [
  [undefined, ['br', 'gzip'], 'identity'],
  ['gzip, deflate, br', ['br', 'gzip'], 'br'],
  ['gzip, deflate, br', ['gzip'], 'gzip'],
  ['gzip;q=1, br;q=0.5', ['br', 'gzip'], 'gzip'],
  ['br;q=0, *', ['br', 'gzip'], 'gzip'],
  ['*;q=0', ['br', 'gzip'], 'identity'],
  ['identity', ['br', 'gzip'], 'identity'],
  ['gzip;q=0.5, identity;q=0.9', ['gzip'], 'identity'],
  ['x-gzip', ['gzip'], 'gzip'],
  ['zstd, br, gzip', ['zstd', 'gzip'], 'zstd'],
  ['gzip;q=2', ['gzip'], 'identity'],
  ['GZIP ; Q=0.8', ['gzip'], 'gzip'],
];

for (const [header, available, expected] of CHOICES) {
  test(`\`chooseCoding()\` picks ${expected} for ${JSON.stringify(header)} among ${available.join(', ')}`, (t: TestContext) => {
    t.plan(1);
    t.assert.strictEqual(chooseCoding(header, available), expected);
  });
}

test('`acceptedCodings()` lists what the client takes, best first', (t: TestContext) => {
  t.plan(3);
  t.assert.deepStrictEqual(acceptedCodings('gzip, br'), ['br', 'gzip']);
  t.assert.deepStrictEqual(acceptedCodings('*;q=0.1, gzip;q=0'), ['br', 'zstd']);
  t.assert.deepStrictEqual(acceptedCodings(undefined), []);
});

test('`contentTypeOf()` adds charset=utf-8 to text types only', async (t: TestContext) => {
  await loadContentTypes();
  t.plan(7);
  t.assert.strictEqual(contentTypeOf('app.css'), 'text/css; charset=utf-8');
  t.assert.strictEqual(contentTypeOf('app.js'), 'text/javascript; charset=utf-8');
  t.assert.strictEqual(contentTypeOf('logo.svg'), 'image/svg+xml; charset=utf-8');
  t.assert.strictEqual(contentTypeOf('data.json'), 'application/json');
  t.assert.strictEqual(contentTypeOf('logo.png'), 'image/png');
  t.assert.strictEqual(contentTypeOf('font.woff2'), 'font/woff2');
  t.assert.strictEqual(contentTypeOf('LICENSE'), 'application/octet-stream');
});

test('`isFingerprinted()` knows hashed names from ordinary ones', (t: TestContext) => {
  t.plan(7);
  t.assert.ok(isFingerprinted('app.3f9a2c7e.js'));
  t.assert.ok(isFingerprinted('base.5af66c1b1797.css'));
  t.assert.ok(isFingerprinted('main-3f9a2c7e1b2d.min.css'));
  t.assert.ok(!isFingerprinted('app.js'));
  t.assert.ok(!isFingerprinted('jquery-3.7.1.min.js'));
  t.assert.ok(!isFingerprinted('deadbeef.facade.js'));
  t.assert.ok(!isFingerprinted('app.deadbeefcafe.js'));
});

test('`cacheControl()` follows max-age and immutable', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(cacheControl('app.js', { maxAge: 0, immutable: true }), 'no-cache');
  t.assert.strictEqual(
    cacheControl('app.js', { maxAge: 60, immutable: false }),
    'public, max-age=60',
  );
  t.assert.strictEqual(
    cacheControl('app.3f9a2c7e.js', { maxAge: 60, immutable: true }),
    'public, max-age=31536000, immutable',
  );
  t.assert.strictEqual(
    cacheControl('app.3f9a2c7e.js', { maxAge: 60, immutable: false }),
    'public, max-age=60',
  );
});

test('`typeMatcher()` takes exact, wildcard and suffix patterns, never compressed types', (t: TestContext) => {
  t.plan(8);
  const match = typeMatcher(DEFAULT_COMPRESS_TYPES);
  t.assert.ok(match('text/html; charset=utf-8'));
  t.assert.ok(match('application/ld+json'));
  t.assert.ok(match('image/svg+xml'));
  t.assert.ok(!match('image/png'));
  t.assert.ok(!match('text/event-stream'));
  t.assert.ok(!match('application/octet-stream'));
  t.assert.ok(!typeMatcher(['*/*'].filter(checkTypePattern))('text/html'));
  t.assert.ok(!typeMatcher(['image/*'])('image/jpeg'));
});

const rules = { minSize: 1024, types: typeMatcher(DEFAULT_COMPRESS_TYPES) };
const br = { coding: 'br' as const, ranged: false };
const html = ['Content-Type', 'text/html'];

const DECISIONS: Array<
  [
    string,
    typeof br | { coding: undefined; ranged: boolean },
    number,
    string[],
    number | undefined,
    string,
  ]
> = [
  ['a large HTML page', br, 200, html, 5000, 'compress'],
  ['a streamed page of unknown length', br, 200, html, undefined, 'compress'],
  ['a small page', br, 200, html, 100, 'skip'],
  ['a small Content-Length', br, 200, [...html, 'Content-Length', '100'], undefined, 'skip'],
  ['an image', br, 200, ['Content-Type', 'image/png'], 5000, 'skip'],
  ['no Content-Type', br, 200, [], 5000, 'skip'],
  ['a Content-Encoding', br, 200, [...html, 'Content-Encoding', 'gzip'], 5000, 'skip'],
  ['no-transform', br, 200, [...html, 'Cache-Control', 'private, no-transform'], 5000, 'skip'],
  ['a 206', br, 206, html, 5000, 'skip'],
  ['a 304', br, 304, html, 5000, 'skip'],
  ['a 204', br, 204, html, 5000, 'skip'],
  ['a Content-Range', br, 200, [...html, 'Content-Range', 'bytes 0-1/2'], 5000, 'skip'],
  ['a 404 page', br, 404, html, 5000, 'compress'],
  ['a client taking no coding', { coding: undefined, ranged: false }, 200, html, 5000, 'vary'],
  ['a Range request', { coding: 'br', ranged: true }, 200, html, 5000, 'vary'],
];

for (const [what, request, status, headers, length, expected] of DECISIONS) {
  test(`\`decideCompression()\` for ${what} → ${expected}`, (t: TestContext) => {
    t.plan(1);
    t.assert.strictEqual(decideCompression(request, status, headers, length, rules), expected);
  });
}

test('`compressedHeaders()` drops the length, weakens the ETag and adds Vary', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(
    compressedHeaders(
      [
        'Content-Type',
        'text/html',
        'Content-Length',
        '5000',
        'ETag',
        '"v1"',
        'Accept-Ranges',
        'bytes',
        'Vary',
        'Cookie',
      ],
      'gzip',
    ),
    [
      'Content-Type',
      'text/html',
      'ETag',
      'W/"v1"',
      'Vary',
      'Cookie, Accept-Encoding',
      'Content-Encoding',
      'gzip',
    ],
  );
});

test('`withVary()` leaves Vary: * and an existing Accept-Encoding alone', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(withVary(['Vary', '*']), ['Vary', '*']);
  t.assert.deepStrictEqual(withVary(['vary', 'accept-encoding']), ['vary', 'accept-encoding']);
});
