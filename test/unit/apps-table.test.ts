// Which app takes a request (--mount, --vhost): the rules of src/apps/table.ts, without sockets.
import { test, type TestContext } from 'node:test';
import { AppTable, hostName, targetPathInfo } from '../../src/apps/index.js';

const mounts = (...prefixes: string[]) => prefixes.map((prefix) => ({ prefix, value: prefix }));
const vhosts = (...hosts: string[]) => hosts.map((host) => ({ host, value: host }));

test('`AppTable.pick()` takes the longest prefix on a segment boundary', (t: TestContext) => {
  const table = new AppTable(mounts('/', '/api', '/api/v2'), []);
  const cases: Array<[string, string]> = [
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/api/users?x=1', '/api'],
    ['/apix', '/'],
    ['/api/v2', '/api/v2'],
    ['/api/v2x', '/api'],
    ['/api/v2/a', '/api/v2'],
    ['/', '/'],
    ['/other', '/'],
    ['*', '/'],
  ];
  t.plan(cases.length);
  for (const [target, app] of cases) t.assert.strictEqual(table.pick('h', target), app, target);
});

test('`AppTable.pick()` matches the path percent-decoded, as PATH_INFO is split', (t: TestContext) => {
  t.plan(3);
  const table = new AppTable(mounts('/', '/api'), []);
  t.assert.strictEqual(table.pick('h', '/%61pi/x'), '/api');
  t.assert.strictEqual(table.pick('h', '/api%2Fx'), '/api');
  t.assert.strictEqual(table.pick('h', 'http://example.org/api/x?q'), '/api');
});

test('`AppTable.pick()` answers 404 for a path under no mount', (t: TestContext) => {
  t.plan(3);
  const table = new AppTable(mounts('/api', '/admin'), []);
  t.assert.strictEqual(table.pick('h', '/'), 404);
  t.assert.strictEqual(table.pick('h', '/apiary'), 404);
  t.assert.strictEqual(table.pick('h', '*'), 404);
});

test('`AppTable.pick()` prefers an exact host, then the longest wildcard, then the default', (t: TestContext) => {
  const table = new AppTable([], vhosts('example.org', '*.example.org', '*.eu.example.org', '*'));
  const cases: Array<[string, string]> = [
    ['example.org', 'example.org'],
    ['EXAMPLE.org:8080', 'example.org'],
    ['example.org.', 'example.org'],
    ['a.example.org', '*.example.org'],
    ['a.b.example.org', '*.example.org'],
    ['x.eu.example.org', '*.eu.example.org'],
    ['eu.example.org', '*.example.org'],
    ['other.net', '*'],
    ['', '*'],
    ['[::1]:8000', '*'],
  ];
  t.plan(cases.length);
  for (const [host, app] of cases) t.assert.strictEqual(table.pick(host, '/'), app, host);
});

test('`AppTable.pick()` answers 421 for an unknown host without a default', (t: TestContext) => {
  t.plan(3);
  const table = new AppTable([], vhosts('example.org', '*.example.org'));
  t.assert.strictEqual(table.pick('example.net', '/'), 421);
  t.assert.strictEqual(table.pick('notexample.org', '/'), 421);
  t.assert.strictEqual(table.pick('', '/'), 421);
});

test('`AppTable.pick()` sends a host no vhost names to the mounts', (t: TestContext) => {
  t.plan(3);
  const table = new AppTable(mounts('/', '/api'), vhosts('admin.example.org'));
  t.assert.strictEqual(table.pick('admin.example.org', '/api/x'), 'admin.example.org');
  t.assert.strictEqual(table.pick('example.org', '/api/x'), '/api');
  t.assert.strictEqual(table.pick('example.org', '/x'), '/');
});

test('`hostName()` drops the port, the case and a trailing dot', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(hostName('Example.ORG:443'), 'example.org');
  t.assert.strictEqual(hostName('example.org.'), 'example.org');
  t.assert.strictEqual(hostName('[::1]:8000'), '[::1]');
  t.assert.strictEqual(hostName('127.0.0.1'), '127.0.0.1');
});

test('`targetPathInfo()` returns the decoded path of every target form', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(targetPathInfo('/a%20b?c=d'), '/a b');
  t.assert.strictEqual(targetPathInfo('http://h:80?x'), '/');
  t.assert.strictEqual(targetPathInfo('HTTPS://h/p'), '/p');
  t.assert.strictEqual(targetPathInfo('*'), '');
});
