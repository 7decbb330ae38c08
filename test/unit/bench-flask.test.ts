// The Flask scenarios and the browser shape: what they send, and how a scenario whose app
// needs a module the interpreter lacks is skipped with a note.
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { scenariosMissing } from '../../src/bench/run.js';
import {
  BROWSER_HEADERS,
  BROWSER_PATH,
  DEFAULT_SCENARIOS,
  findScenario,
  type LoadContext,
  type Scenario,
} from '../../src/bench/scenarios.js';
import type { ClosedSpec } from '../../src/bench/load/spec.js';
import { SERVERS, runsScenario } from '../../src/bench/servers.js';

const CTX: LoadContext = {
  host: '127.0.0.1', port: 9001, durationMs: 1000, warmupMs: 400, timeoutMs: 10_000, workers: 1,
  threads: 4, connections: undefined, rate: undefined, path: null, headers: [],
}; // prettier-ignore

test('flask-hello and flask-browser run the Flask app in the keep-alive and browser shapes', (t: TestContext) => {
  t.plan(8);
  const hello = findScenario('flask-hello');
  const browser = findScenario('flask-browser');
  t.assert.strictEqual(hello?.app, 'flask_hello:application');
  t.assert.strictEqual(browser?.app, 'flask_hello:application');
  const h = hello?.build(CTX) as ClosedSpec;
  t.assert.deepStrictEqual([h.connections, h.keepAlive, h.requests[0]?.path], [50, true, '/']);
  const b = browser?.build(CTX) as ClosedSpec;
  t.assert.deepStrictEqual([b.keepAlive, b.requests[0]?.path], [false, BROWSER_PATH]);
  t.assert.deepStrictEqual(
    b.requests,
    (findScenario('browser')?.build(CTX) as ClosedSpec).requests,
  );
  t.assert.ok(
    DEFAULT_SCENARIOS.includes('flask-hello') && DEFAULT_SCENARIOS.includes('flask-browser'),
  );
  // The ceiling has no Flask in it; every app server runs them.
  const taking = SERVERS.filter((d) => hello !== undefined && runsScenario(d, hello)).map(
    (d) => d.name,
  );
  t.assert.ok(!taking.includes('raw-net') && !taking.includes('nginx'), taking.join(','));
  t.assert.ok(taking.includes('cask') && taking.includes('uwsgi'), taking.join(','));
});

test('the browser shape sends the survey request: a query string, Chrome headers, a cookie', (t: TestContext) => {
  t.plan(6);
  t.assert.match(
    BROWSER_PATH,
    /^\/search\?q=wsgi\+server\+benchmark&lang=en-US&page=2&sort=relevance$/,
  );
  const names = BROWSER_HEADERS.map(([n]) => n.toLowerCase());
  // With Host, which the generator adds, the 14 headers Chrome sends, then the cookie.
  t.assert.strictEqual(names.filter((n) => n !== 'cookie').length + 1, 14);
  for (const n of ['referer', 'sec-ch-ua', 'upgrade-insecure-requests'])
    t.assert.ok(names.includes(n), n);
  const ua = BROWSER_HEADERS.find(([n]) => n === 'User-Agent')?.[1] ?? '';
  t.assert.strictEqual(ua.length, 111);
});

const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));

test(
  '`scenariosMissing()` names the module and the Debian package, or why Python did not run',
  { skip: python === undefined ? 'no python3' : false },
  (t: TestContext) => {
    t.plan(3);
    const stub = (name: string, needs: Scenario['needs']): Scenario =>
      ({ ...(findScenario('hello') as Scenario), name, needs }) as Scenario;
    const scenarios = [
      stub('needs-nothing', undefined),
      stub('needs-json', [{ module: 'json', debian: 'python3' }]),
      stub('needs-absent', [{ module: 'caskbench_absent_module', debian: 'python3-absent' }]),
    ];
    const missing = scenariosMissing(scenarios, python as string);
    t.assert.deepStrictEqual([...missing.keys()], ['needs-absent']);
    t.assert.strictEqual(
      missing.get('needs-absent'),
      `caskbench_absent_module is not importable by ${python} (Debian: python3-absent)`,
    );
    const noPython = scenariosMissing(scenarios, '/nonexistent/python3');
    t.assert.match(noPython.get('needs-json') ?? '', /^\/nonexistent\/python3 did not run/);
  },
);
