// Text renderings of the table for the terminal: `cask serve --help` and `--print-config`.
// docs/config.md is rendered from the same table by scripts/gen-config-doc.ts.

import { stringify } from 'smol-toml';
import { formatBind, type BindAddress } from './parse.js';
import { DEV_DEFAULTS, SETTINGS, SETTING_KEYS, type Config, type SettingKey } from './schema.js';
import { SECTIONS, type AnySetting } from './types.js';
import { formatMount, type MountSpec } from '../static/mount.js';
import { formatAppEntry, isAppEntry, type AppEntry } from './apps.js';

const WIDTH = 80;
const INDENT = '      ';

function plain(markdown: string): string {
  return markdown.replace(/`/g, '');
}

function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** `-w, --workers INT`, `--[no-]print-config`, `APP, --app APP`. */
export function usageOf(setting: AnySetting): string {
  const long =
    setting.type === 'bool'
      ? `--[no-]${setting.flag.slice(2)}`
      : `${setting.flag} ${setting.metavar}`;
  const names = [
    ...(setting.positional === undefined ? [] : [setting.positional]),
    ...(setting.short === undefined ? [] : [`-${setting.short}`]),
    long,
  ];
  return names.join(', ');
}

function envOf(setting: AnySetting): string {
  return setting.fallbackEnv === undefined
    ? setting.env
    : `${setting.env} (then ${setting.fallbackEnv})`;
}

const DEV_INTRO =
  'Serve a WSGI application for development: the same server as cask serve, which reloads the workers when the app\'s files change (without losing a request) and shows an error page with the source and local variables of an exception to requests from this machine. The defaults marked "cask dev" differ from cask serve\'s; everything else is the same (docs/development.md).';

export function renderServeHelp(command: 'serve' | 'dev' = 'serve'): string {
  const dev = command === 'dev';
  const out: string[] = [
    `Usage: cask ${command} [APP] [options]`,
    '',
    ...wrap(
      dev
        ? DEV_INTRO
        : 'Serve a WSGI application with Python worker processes behind a Node front. APP is package.module:callable or path/to/file.py:callable.',
      '',
    ),
    '',
    ...wrap(
      'Every option can also be set with its CASK_* environment variable, or under its long name (without the dashes) in cask.toml or in [tool.cask] of pyproject.toml. Flags win over the environment, which wins over the file. Durations take 30, 30s, 500ms or 2m; sizes take 1024, 64k, 10m or 1g. See docs/config.md.',
      '',
    ),
  ];
  for (const section of SECTIONS) {
    out.push('', `${section}:`);
    for (const key of SETTING_KEYS) {
      const setting: AnySetting = SETTINGS[key];
      if (setting.section !== section) continue;
      out.push(`  ${usageOf(setting)}`);
      out.push(...wrap(plain(setting.doc), INDENT));
      const where = setting.inFile ? '' : ' Not read from the config file.';
      const profiled = DEV_DEFAULTS.get(key);
      const devDefault = profiled === undefined ? '' : ` (cask dev: ${profiled.doc})`;
      out.push(
        ...wrap(
          `Default: ${plain(setting.defaultDoc)}${devDefault}. Env: ${envOf(setting)}.${where}`,
          INDENT,
        ),
      );
    }
  }
  out.push('', '  -h, --help', `${INDENT}Show this help and exit.`);
  return `${out.join('\n')}\n`;
}

/** `1073741824` -> `"1g"`, as a user would write it; other sizes stay plain numbers. */
function formatBytes(n: number): number | string {
  for (const [unit, size] of [
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ] as const) {
    if (n > 0 && n % size === 0) return `${n / size}${unit}`;
  }
  return n;
}

function isMount(v: unknown): v is MountSpec {
  return typeof v === 'object' && v !== null && 'prefix' in v && 'dir' in v;
}

function isBind(v: unknown): v is BindAddress {
  return typeof v === 'object' && v !== null && 'kind' in v;
}

/** The resolved settings as a cask.toml a user could save; unset options become comments. */
export function renderConfigToml(config: Config): string {
  const lines = ['# Resolved settings for cask serve (flags, CASK_* env, config file, defaults)'];
  lines.push(
    config.config === null ? '# No config file was read' : `# Config file: ${config.config}`,
  );
  // An app's own settings need a table of their own, and a TOML table runs to the next header:
  // so these come last.
  const tables: string[] = [];
  for (const key of SETTING_KEYS) {
    const setting: AnySetting = SETTINGS[key];
    if (!setting.inFile) continue;
    const name = setting.flag.slice(2);
    const value: unknown = config[key];
    if (value === null) {
      lines.push(`# ${name} is not set`);
      continue;
    }
    if (
      Array.isArray(value) &&
      value.some((v) => isAppEntry(v) && Object.keys(v.settings).length > 0)
    ) {
      tables.push(appTables(name, value as AppEntry[]));
      continue;
    }
    const toml = Array.isArray(value)
      ? value.map((v) =>
          isBind(v)
            ? formatBind(v)
            : isMount(v)
              ? formatMount(v)
              : isAppEntry(v)
                ? formatAppEntry(v)
                : v,
        )
      : setting.type === 'bytes' && typeof value === 'number'
        ? formatBytes(value)
        : value;
    lines.push(stringify({ [name]: toml }).trim());
  }
  return `${[...lines, ...tables].join('\n')}\n`;
}

/** `[mount."/api"]` tables, each with `app` and the settings of that app in their own units. */
function appTables(name: string, entries: readonly AppEntry[]): string {
  const table: Record<string, Record<string, unknown>> = {};
  for (const entry of entries) {
    const own: Record<string, unknown> = { app: entry.app };
    for (const [key, value] of Object.entries(entry.settings)) {
      const setting = SETTINGS[key as SettingKey] as AnySetting;
      own[setting.flag.slice(2)] =
        setting.type === 'bytes' && typeof value === 'number' ? formatBytes(value) : value;
    }
    table[entry.key] = own;
  }
  return stringify({ [name]: table }).trim();
}
