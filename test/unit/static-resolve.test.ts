// Path safety of the static files route (src/static/resolve.ts): every trick a request path can
// play, refused before any file system call.
import { test, type TestContext } from 'node:test';
import { afterPrefix, isInside, pathOfTarget, resolvePath } from '../../src/static/resolve.js';

const hidden = { dotfiles: false };

const REFUSED: Array<[string, string, 400 | 404]> = [
  ['/../etc/passwd', 'a plain ".." segment', 404],
  ['/%2e%2e/etc/passwd', 'an encoded ".." segment', 404],
  ['/%2E./etc/passwd', 'a half-encoded ".." segment', 404],
  ['/css/%2e%2e/%2e%2e/x', 'encoded ".." further down', 404],
  ['/./app.css', 'a "." segment', 404],
  ['/..%2fetc/passwd', 'an encoded slash inside a segment', 404],
  ['/..%5cetc', 'an encoded backslash inside a segment', 404],
  ['/..\\etc\\passwd', 'a raw backslash', 404],
  ['/a%00.css', 'an encoded NUL', 404],
  ['//etc/passwd', 'a doubled slash at the start', 404],
  ['/css//app.css', 'a doubled slash inside', 404],
  ['/.env', 'a dotfile', 404],
  ['/.git/config', 'a dot directory', 404],
  ['/%2egit/config', 'an encoded dot directory', 404],
  ['/%zz.css', 'bad percent-encoding', 400],
  ['/%c3%28.css', 'a name that is not UTF-8', 400],
  ['app.css', 'a path without its leading slash', 404],
];

for (const [path, what, status] of REFUSED) {
  test(`\`resolvePath()\` refuses ${what} with ${status}: ${path}`, (t: TestContext) => {
    t.plan(2);
    const resolved = resolvePath(path, hidden);
    t.assert.strictEqual(resolved.kind, 'refused');
    t.assert.strictEqual(resolved.kind === 'refused' ? resolved.status : 0, status);
  });
}

test('`resolvePath()` decodes each segment on its own', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(resolvePath('/css/caf%C3%A9%20au%20lait.css', hidden), {
    kind: 'path',
    segments: ['css', 'café au lait.css'],
    trailingSlash: false,
  });
});

test('`resolvePath()` keeps a double-encoded dot as a literal name', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(resolvePath('/%252e%252e/x', hidden), {
    kind: 'path',
    segments: ['%2e%2e', 'x'],
    trailingSlash: false,
  });
});

test('`resolvePath()` notes a trailing slash and the mount root', (t: TestContext) => {
  t.plan(3);
  t.assert.deepStrictEqual(resolvePath('/docs/', hidden), {
    kind: 'path',
    segments: ['docs'],
    trailingSlash: true,
  });
  t.assert.deepStrictEqual(resolvePath('/', hidden), {
    kind: 'path',
    segments: [],
    trailingSlash: true,
  });
  t.assert.deepStrictEqual(resolvePath('', hidden), {
    kind: 'path',
    segments: [],
    trailingSlash: false,
  });
});

test('`resolvePath()` serves dotfiles when asked, never ".."', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(resolvePath('/.well-known/x', { dotfiles: true }).kind, 'path');
  t.assert.strictEqual(resolvePath('/.well-known/../x', { dotfiles: true }).kind, 'refused');
});

test('`afterPrefix()` matches whole segments only', (t: TestContext) => {
  t.plan(6);
  t.assert.strictEqual(afterPrefix('/static/a.css', '/static'), '/a.css');
  t.assert.strictEqual(afterPrefix('/static', '/static'), '');
  t.assert.strictEqual(afterPrefix('/statics/a.css', '/static'), undefined);
  t.assert.strictEqual(afterPrefix('/other', '/static'), undefined);
  t.assert.strictEqual(afterPrefix('/a.css', '/'), '/a.css');
  t.assert.strictEqual(afterPrefix('*', '/'), undefined);
});

test('`pathOfTarget()` splits origin-form and absolute-form targets', (t: TestContext) => {
  t.plan(4);
  t.assert.deepStrictEqual(pathOfTarget('/a/b?v=1'), { path: '/a/b', query: '?v=1' });
  t.assert.deepStrictEqual(pathOfTarget('http://h.test/a?x'), { path: '/a', query: '?x' });
  t.assert.deepStrictEqual(pathOfTarget('http://h.test'), { path: '/', query: '' });
  t.assert.strictEqual(pathOfTarget('*'), undefined);
});

test('`isInside()` needs a separator after the root', (t: TestContext) => {
  t.plan(4);
  t.assert.ok(isInside('/srv/site', '/srv/site'));
  t.assert.ok(isInside('/srv/site', '/srv/site/a.css'));
  t.assert.ok(!isInside('/srv/site', '/srv/site2/a.css'));
  t.assert.ok(!isInside('/srv/site', '/etc/passwd'));
});
