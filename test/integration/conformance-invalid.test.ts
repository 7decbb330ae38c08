// Replays every invalid request file of test/conformance against a real cask running the echo
// app, whole, one byte at a time, line by line and at seeded random cuts, and
// checks that the requests before the bad one are answered, the bad one gets its status with
// `Connection: close`, nothing after it reaches the app, and the connection closes.

import { after, before, describe, test, type TestContext } from 'node:test';
import type { RunningCask } from '../helpers/cask.js';
import { corpus, replay, startCorpusServer, ways } from '../helpers/conformance.js';

const WAYS = { random: 3, bytewiseMax: 600, bytewiseEdge: 200 };

describe('cask refuses every invalid request of the conformance corpus', { concurrency: 6 }, () => {
  let server: RunningCask;
  before(async () => {
    server = await startCorpusServer();
  });
  after(() => server.stop());

  for (const file of corpus('invalid')) {
    const { status, completeBefore } = file.expected;
    test(`${file.name} gets ${status} after ${completeBefore} answer(s) and a close at every cut`, async (t: TestContext) => {
      const cuts = ways(file.name, file.bytes, WAYS);
      t.plan(cuts.length * 5);
      await Promise.all(
        cuts.map(async ({ label, chunks }) => {
          // EOF after the last byte: a request cut short is refused when the client closes.
          const result = await replay(server.port, chunks, { halfClose: true });
          const statuses = result.responses.map((r) => r.status);
          const shown = `${label}: ${JSON.stringify(result.raw.toString('latin1').slice(0, 200))}`;
          t.assert.deepEqual(statuses, [...Array<number>(completeBefore).fill(200), status], shown);
          t.assert.ok(result.closed, `${label}: connection closed`);
          const refusal = result.responses.at(-1);
          t.assert.equal(refusal?.headers.connection, 'close', `${label}: Connection: close`);
          t.assert.equal(
            refusal?.body.toString(),
            `${status} ${refusal?.reason}\n`,
            `${label}: canned body`,
          );
          t.assert.ok(result.elapsed < 5000, `${label}: took ${result.elapsed} ms`);
        }),
      );
    });
  }
});
