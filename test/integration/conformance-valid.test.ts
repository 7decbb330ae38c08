// Replays every valid request file of test/conformance against a real cask running the echo
// app, whole, one byte at a time, line by line and at seeded random cuts, and
// checks the environ and body the app saw, the keep-alive decision of each response, and
// that no 100 Continue is sent where none was asked for.

import { after, before, describe, test, type TestContext } from 'node:test';
import type { RunningCask } from '../helpers/cask.js';
import {
  startCorpusServer,
  corpus,
  expectedEnviron,
  replay,
  ways,
  type ExpectedRequest,
} from '../helpers/conformance.js';
import type { ParsedResponse } from '../helpers/http.js';

interface Echo {
  environ: Record<string, string>;
  body_latin1: string;
}

const WAYS = { random: 3, bytewiseMax: 600, bytewiseEdge: 200 };

/** The requests that get an answer: up to and including the first that closes. */
function answered(requests: ExpectedRequest[]): ExpectedRequest[] {
  const last = requests.findIndex((r) => !r.keepAlive);
  return last === -1 ? requests : requests.slice(0, last + 1);
}

/** The CGI keys that come from the request's header fields. */
/** Header variables the front adds to every request itself (docs/observability.md): the
 *  request's id and the time it arrived. The corpus says nothing of them; each must be there. */
const FRONT_ADDED = ['HTTP_X_REQUEST_ID', 'HTTP_X_REQUEST_START'];

function fieldKeys(environ: Record<string, string>): string[] {
  return Object.keys(environ)
    .filter((k) => (k.startsWith('HTTP_') || k.startsWith('CONTENT_')) && !FRONT_ADDED.includes(k))
    .sort();
}

describe('cask serves every valid request of the conformance corpus', { concurrency: 6 }, () => {
  let server: RunningCask;
  before(async () => {
    server = await startCorpusServer();
  });
  after(() => server.stop());

  for (const file of corpus('valid')) {
    const expected = answered(file.expected.requests);
    const closes = expected.length < file.expected.requests.length || !expected.at(-1)!.keepAlive;
    const continues = expected.filter(
      (r) => r.expectContinue && (r.contentLength > 0 || r.chunked),
    ).length;
    test(`${file.name} reaches the echo app as specified at every cut`, async (t: TestContext) => {
      const cuts = ways(file.name, file.bytes, WAYS);
      // A HEAD answer has no body to echo the environ in: its status and framing are checked.
      const checks = expected.reduce((n, r) => n + (r.method === 'HEAD' ? 2 : 6), 3);
      t.plan(cuts.length * checks);
      await Promise.all(
        cuts.map(async ({ label, chunks }) => {
          const result = await replay(server.port, chunks, {
            headRequests: expected.map((r) => r.method === 'HEAD'),
            until: (responses, closed) =>
              responses.filter((r) => r.status >= 200).length >= expected.length &&
              (closed || !closes),
          });
          const finals = result.responses.filter((r) => r.status >= 200);
          const interim = result.responses.length - finals.length;
          t.assert.equal(
            finals.length,
            expected.length,
            `${label}: responses ${JSON.stringify(result.raw.toString('latin1').slice(0, 300))}`,
          );
          t.assert.ok(
            interim <= continues,
            `${label}: ${interim} interim responses, ${continues} asked for`,
          );
          t.assert.equal(result.closed, closes, `${label}: connection closed`);
          expected.forEach((request, i) => {
            const response = finals[i] as ParsedResponse | undefined;
            t.assert.equal(response?.status, 200, `${label}: request ${i} status`);
            const connection = response?.headers.connection?.toLowerCase();
            t.assert.equal(
              connection === 'close',
              !request.keepAlive,
              `${label}: request ${i} Connection: ${connection}`,
            );
            if (request.method === 'HEAD') return;
            let echo: Echo = { environ: {}, body_latin1: '' };
            try {
              echo = JSON.parse(response?.body.toString('utf8') ?? '') as Echo;
            } catch {
              // counted as a mismatch below
            }
            const want = expectedEnviron(request, String(server.port));
            const got: Record<string, string> = {};
            for (const key of Object.keys(want))
              if (key in echo.environ) got[key] = echo.environ[key] as string;
            t.assert.deepEqual(got, want, `${label}: request ${i} environ`);
            t.assert.deepEqual(
              fieldKeys(echo.environ),
              fieldKeys(want),
              `${label}: request ${i} header keys`,
            );
            t.assert.deepEqual(
              FRONT_ADDED.filter((k) => typeof echo.environ[k] !== 'string'),
              [],
              `${label}: request ${i} id and start time`,
            );
            t.assert.equal(echo.body_latin1, request.body, `${label}: request ${i} body`);
          });
        }),
      );
    });
  }
});
