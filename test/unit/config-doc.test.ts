// docs/config.md is generated from the settings table; these tests keep it in step with the
// table and keep its examples valid.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  DOC_PATH,
  EXAMPLE_CASK_TOML,
  EXAMPLE_PYPROJECT_TOML,
  renderConfigDoc,
} from '../../scripts/gen-config-doc.js';
import { SETTINGS, SETTING_KEYS, loadConfig } from '../../src/config/index.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('`renderConfigDoc()` matches the committed docs/config.md', (t: TestContext) => {
  t.plan(1);
  const committed = existsSync(DOC_PATH) ? readFileSync(DOC_PATH, 'utf8') : '';
  t.assert.ok(
    committed === renderConfigDoc(),
    'docs/config.md is out of date with src/config/schema.ts: run `npm run docs:config`',
  );
});

test('`renderConfigDoc()` lists every option with its flag and env var', (t: TestContext) => {
  t.plan(SETTING_KEYS.length * 2);
  const doc = renderConfigDoc();
  for (const key of SETTING_KEYS) {
    t.assert.ok(doc.includes(`\`${SETTINGS[key].flag}`), SETTINGS[key].flag);
    t.assert.ok(doc.includes(`\`${SETTINGS[key].env}\``), SETTINGS[key].env);
  }
});

test('`loadConfig()` accepts the example cask.toml from the docs', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), EXAMPLE_CASK_TOML);
  const config = loadConfig({ env: {}, cwd });
  t.assert.strictEqual(config.workers, 4);
  t.assert.strictEqual(config.timeout, 60);
  t.assert.strictEqual(config.maxBodySize, 100 * 1024 ** 2);
});

test('`loadConfig()` accepts the example pyproject.toml from the docs', (t: TestContext) => {
  t.plan(2);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'pyproject.toml'), EXAMPLE_PYPROJECT_TOML);
  const config = loadConfig({ env: {}, cwd });
  t.assert.strictEqual(config.app, 'myproject.wsgi:application');
  t.assert.strictEqual(config.keepAlive, 10);
});
