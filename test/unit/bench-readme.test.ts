// The README's comparison table, rendered from results.json (src/bench/report/readme.ts).
import { test, type TestContext } from 'node:test';
import { parseBenchArgs, resolveOptions } from '../../src/bench/options.js';
import { padTable, ratioText, readmeTable } from '../../src/bench/report/readme.js';
import { fixtureCell, fixtureReport, fixtureScenario } from '../helpers/bench-fixture.js';

test('`ratioText()` keeps two decimals below 10× and none above', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(ratioText(0.3456), '0.35×');
  t.assert.strictEqual(ratioText(5), '5.00×');
  t.assert.strictEqual(ratioText(49.6), '50×');
  t.assert.strictEqual(ratioText(Number.NaN), '—');
});

test('`padTable()` pads like Prettier: first column left, the others right', (t: TestContext) => {
  t.plan(1);
  t.assert.strictEqual(
    padTable([
      ['server', 'hello'],
      ['**cask**', '27,385 req/s'],
      ['uWSGI', '0.40×'],
    ]),
    [
      '| server   |        hello |',
      '| -------- | -----------: |',
      '| **cask** | 27,385 req/s |',
      '| uWSGI    |        0.40× |',
    ].join('\n'),
  );
});

test('`readmeTable()` gives Cask with units and every other server as a ratio to it', (t: TestContext) => {
  t.plan(2);
  const report = fixtureReport(
    ['cask', 'raw-net', 'uwsgi'],
    [fixtureScenario('hello', 'closed', { ceiling: true }), fixtureScenario('cpu')],
    [
      fixtureCell('cask', 'hello', [20_000]),
      fixtureCell('raw-net', 'hello', [80_000]),
      fixtureCell('uwsgi', 'hello', [7_000]),
      fixtureCell('cask', 'cpu', [180]),
      fixtureCell('uwsgi', 'cpu', [190]),
    ],
  );
  t.assert.strictEqual(
    readmeTable(report),
    [
      '| server                 |        hello |       cpu |',
      '| ---------------------- | -----------: | --------: |',
      '| **cask**               | 20,000 req/s | 180 req/s |',
      '| raw node:net (ceiling) |        4.00× |         — |',
      '| uWSGI                  |        0.35× |     1.06× |',
    ].join('\n'),
  );
  t.assert.strictEqual(readmeTable(fixtureReport(['uwsgi'], [], [])), null);
});

test('`readmeTable()` compares CPU per request where the load generator was at its limit', (t: TestContext) => {
  t.plan(1);
  // uWSGI's hello-close figure is the generator's (⚠): level with Cask by requests per
  // second, but it spent 60 µs per request to Cask's 150. Where neither was limited, the
  // requests per second stand; without CPU figures a limited cell gives no ratio.
  const cpu = (perRequestUs: number) => ({ cpu: { avg: 90, peak: 100, seconds: 1, perRequestUs } });
  const bound = { generatorBound: true };
  const report = fixtureReport(
    ['cask', 'uwsgi', 'waitress'],
    [fixtureScenario('hello'), fixtureScenario('hello-close')],
    [
      fixtureCell('cask', 'hello', [20_000], cpu(50)),
      fixtureCell('uwsgi', 'hello', [16_000], cpu(40)),
      fixtureCell('waitress', 'hello', [10_000], cpu(90)),
      fixtureCell('cask', 'hello-close', [7_000], cpu(150)),
      fixtureCell('uwsgi', 'hello-close', [7_000], { ...bound, ...cpu(60) }),
      fixtureCell('waitress', 'hello-close', [5_000], { ...bound, cpu: { avg: 0, peak: 0, seconds: 0, perRequestUs: Number.NaN } }),
    ],
  ); // prettier-ignore
  t.assert.strictEqual(
    readmeTable(report),
    [
      '| server   |        hello |  hello-close |',
      '| -------- | -----------: | -----------: |',
      '| **cask** | 20,000 req/s |  7,000 req/s |',
      '| uWSGI    |        0.80× | 2.50× by CPU |',
      '| waitress |        0.50× |            — |',
    ].join('\n'),
  );
});

test('`--note` puts what the machine was doing into the report', (t: TestContext) => {
  t.plan(2);
  const argv = ['--note', 'shared machine, load average 5', '--note', 'second'];
  t.assert.deepStrictEqual(resolveOptions(parseBenchArgs(argv).values, argv).notes, [
    'shared machine, load average 5',
    'second',
  ]);
  t.assert.deepStrictEqual(resolveOptions(parseBenchArgs([]).values, []).notes, []);
});
