// package.json's entry points name files the build really produces, and the public entry
// exports what it promises.

import { existsSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  main: string;
  types: string;
  bin: Record<string, string>;
};

test('package.json `main`, `types` and `bin` name files that exist after the build', (t: TestContext) => {
  const files = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  t.plan(files.length);
  for (const file of files) t.assert.ok(existsSync(`${root}${file}`), `${file} is missing`);
});

test('the public entry exports main(), serve(), loadConfig() and the error table', async (t: TestContext) => {
  const entry = (await import(`${root}${pkg.main}`)) as Record<string, unknown>;
  t.plan(4);
  t.assert.equal(typeof entry.main, 'function');
  t.assert.equal(typeof entry.serve, 'function');
  t.assert.equal(typeof entry.loadConfig, 'function');
  t.assert.equal(typeof (entry.ERROR_CODES as Record<string, unknown>).CASK_APP_LOAD, 'object');
});
