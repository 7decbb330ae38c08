// Access log formats (gunicorn's atoms) and the request id the app sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAccessFormat, type AccessRecord } from '../../src/log-format.js';
import { addRequestIds, RequestIds } from '../../src/request-id.js';

const record: AccessRecord = {
  remoteAddr: '10.0.0.7',
  method: 'GET',
  target: '/search?q=a"b',
  protocol: 'HTTP/1.1',
  status: 200,
  bytes: 0,
  referer: '',
  userAgent: 'curl/8',
  headers: [
    'Host',
    'h',
    'Authorization',
    `Basic ${Buffer.from('ann:pw').toString('base64')}`,
    'X-Thing',
    'v1',
  ],
  requestId: 'abc-1',
  durationUs: 1234.4,
};
const now = new Date(Date.UTC(2026, 11, 4, 13, 5, 9));

test("compileAccessFormat() writes gunicorn's atoms", () => {
  const line = compileAccessFormat(
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s',
  )(record, now);
  assert.equal(
    line,
    '10.0.0.7 - ann [04/Dec/2026:13:05:09 +0000] "GET /search?q=a\\x22b HTTP/1.1" 200 - "-" "curl/8" 1234',
  );
  assert.equal(
    compileAccessFormat('%(m)s %(U)s %(q)s %(H)s %(B)s %(M)s %(L)s %(T)s %%')(record, now),
    'GET /search q=a\\x22b HTTP/1.1 0 1 0.001234 0 %',
  );
  assert.equal(
    compileAccessFormat('%({x-thing}i)s %({missing}i)s %({x-request-id}i)s %(rid)s %({ct}o)s')(
      record,
      now,
    ),
    'v1 - abc-1 abc-1 -',
  );
});

test('compileAccessFormat() knows combined, common and json, and refuses an unknown atom', () => {
  assert.equal(
    compileAccessFormat('combined')(record, now),
    '10.0.0.7 - ann [04/Dec/2026:13:05:09 +0000] "GET /search?q=a\\x22b HTTP/1.1" 200 - "-" "curl/8"',
  );
  assert.equal(compileAccessFormat('common')(record, now).endsWith('HTTP/1.1" 200 -'), true);
  const json = JSON.parse(compileAccessFormat('json')(record, now)) as Record<string, unknown>;
  assert.equal(json.request_id, 'abc-1');
  assert.equal(json.path, '/search');
  assert.equal(json.duration_us, 1234);
  assert.throws(() => compileAccessFormat('%(zz)s'), /Unknown access log atom: %\(zz\)s/);
});

test('addRequestIds() passes a trusted id through and replaces an untrusted or odd one', () => {
  const ids = new RequestIds();
  const fresh: string[] = ['PATH_INFO', '/'];
  const made = addRequestIds(fresh, ['Host', 'h'], false, ids, 1_700_000_000_123.456);
  assert.match(made, /^[0-9a-f]{12}-1$/);
  assert.deepEqual(fresh.slice(2), [
    'HTTP_X_REQUEST_ID',
    made,
    'HTTP_X_REQUEST_START',
    't=1700000000123',
  ]);

  const kept = ['HTTP_X_REQUEST_ID', 'lb-42', 'HTTP_X_REQUEST_START', 't=1'];
  const headers = ['X-Request-Id', 'lb-42', 'X-Request-Start', 't=1'];
  assert.equal(addRequestIds(kept, headers, true, ids, 5), 'lb-42');
  assert.deepEqual(kept, ['HTTP_X_REQUEST_ID', 'lb-42', 'HTTP_X_REQUEST_START', 't=1']);

  const forged = ['HTTP_X_REQUEST_ID', 'lb-42', 'HTTP_X_REQUEST_START', 't=1'];
  const replaced = addRequestIds(forged, headers, false, ids, 5);
  assert.notEqual(replaced, 'lb-42');
  assert.deepEqual(forged, ['HTTP_X_REQUEST_ID', replaced, 'HTTP_X_REQUEST_START', 't=5']);

  const odd = ['HTTP_X_REQUEST_ID', 'a b'];
  assert.notEqual(addRequestIds(odd, ['x-request-id', 'a b'], true, ids, 5), 'a b');
});
