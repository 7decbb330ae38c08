// The settings table itself: names spelled from the key, nothing taken twice, defaults valid,
// and the type-level rule that a row's flag and env var must match its key.
import { test, type TestContext } from 'node:test';
import { int } from '../../src/config/define.js';
import {
  SECTIONS,
  SETTINGS,
  SETTING_KEYS,
  loadConfig,
  type AnySetting,
  type Config,
} from '../../src/config/index.js';
import { INTERNAL_ENV_PREFIXES, RENAMED } from '../../src/config/schema.js';
import type { CheckedTable } from '../../src/config/types.js';

const rows = SETTING_KEYS.map((key) => [key, SETTINGS[key] as AnySetting] as const);

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

test('`SETTINGS` spells each flag and env var from its key', (t: TestContext) => {
  t.plan(rows.length * 2);
  for (const [key, setting] of rows) {
    t.assert.strictEqual(setting.flag, `--${kebab(key)}`);
    t.assert.strictEqual(setting.env, `CASK_${kebab(key).replace(/-/g, '_').toUpperCase()}`);
  }
});

test('`SETTINGS` uses each short flag once and never -h or -v', (t: TestContext) => {
  t.plan(2);
  const shorts = rows.flatMap(([, s]) => (s.short === undefined ? [] : [s.short]));
  t.assert.strictEqual(new Set(shorts).size, shorts.length);
  t.assert.ok(!shorts.includes('h') && !shorts.includes('v'), 'reserved for --help and --version');
});

test('`SETTINGS` keeps every env var out of the internal CASK_ namespaces', (t: TestContext) => {
  t.plan(1);
  const clashes = rows.filter(([, s]) => INTERNAL_ENV_PREFIXES.some((p) => s.env.startsWith(p)));
  t.assert.deepStrictEqual(clashes, []);
});

test('`SETTINGS` puts every option in a known section and every section has options', (t: TestContext) => {
  t.plan(2);
  t.assert.ok(rows.every(([, s]) => (SECTIONS as readonly string[]).includes(s.section)));
  t.assert.deepStrictEqual(
    SECTIONS.filter((section) => !rows.some(([, s]) => s.section === section)),
    [],
  );
});

test('`SETTINGS` documents every option and its default', (t: TestContext) => {
  t.plan(rows.length);
  for (const [key, setting] of rows) {
    t.assert.ok(setting.doc.length > 10 && setting.defaultDoc.length > 0, key);
  }
});

test('`RENAMED` points old spellings at options that exist and are not options themselves', (t: TestContext) => {
  const entries = Object.entries(RENAMED);
  t.plan(entries.length * 2);
  for (const [old, key] of entries) {
    t.assert.ok(key in SETTINGS, old);
    t.assert.ok(!rows.some(([, s]) => s.flag === `--${old}`), old);
  }
});

test('`loadConfig()` returns exactly the keys of the table', (t: TestContext) => {
  t.plan(1);
  const config: Config = loadConfig({ env: {}, cwd: '/' });
  t.assert.deepStrictEqual(Object.keys(config), [...SETTING_KEYS]);
});

test('`CheckedTable` refuses a row whose flag or env var does not match its key', (t: TestContext) => {
  t.plan(1);
  // Type-level: `npm run typecheck` compiles this file, and each @ts-expect-error must hold.
  const table = <const T extends Record<string, AnySetting>>(r: T & CheckedTable<T>): T => r;
  const row = { section: 'Workers', doc: 'x', default: 1 } as const;
  table({ maxQueue: int({ ...row, flag: '--max-queue', env: 'CASK_MAX_QUEUE' }) });
  // @ts-expect-error the flag is not `--` + kebab-case of the key
  table({ maxQueue: int({ ...row, flag: '--max-queu', env: 'CASK_MAX_QUEUE' }) });
  // @ts-expect-error the env var is not CASK_ + UPPER_SNAKE of the key
  table({ maxQueue: int({ ...row, flag: '--max-queue', env: 'CASK_MAXQUEUE' }) });
  // @ts-expect-error Config has no key without a row
  const missing: Config['maxWorkers'] = 1;
  void missing;
  t.assert.ok(true);
});
