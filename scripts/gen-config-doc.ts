// Writes docs/config.md from the settings table (src/config/schema.ts), as gunicorn's
// scripts/build_settings_doc.py does. Run `npm run docs:config` after changing the table;
// test/unit/config-doc.test.ts fails while the committed file is stale.

import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  SECTIONS,
  SETTINGS,
  SETTING_KEYS,
  type AnySetting,
  type SettingKey,
} from '../src/config/index.js';
import { DEV_DEFAULTS } from '../src/config/schema.js';

export const DOC_PATH = fileURLToPath(new URL('../docs/config.md', import.meta.url));

export const EXAMPLE_CASK_TOML = `# cask.toml, next to your code
app = "myproject.wsgi:application"
bind = ["0.0.0.0:8000", "unix:/run/cask.sock"]
workers = 4
threads = 2
timeout = "60s"
max-body-size = "100m"
access-log = "-"
log-level = "warning"
`;

export const EXAMPLE_PYPROJECT_TOML = `[project]
name = "myproject"

[tool.cask]
app = "myproject.wsgi:application"
workers = 4
keep-alive = "10s"
`;

/** Markdown table cells: `|` would end the cell, even inside a code span. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function optionCell(setting: AnySetting): string {
  const value = setting.type === 'bool' ? '' : ` ${setting.metavar}`;
  const names = [
    ...(setting.positional === undefined ? [] : [`\`${setting.positional}\``]),
    ...(setting.short === undefined ? [] : [`\`-${setting.short}\``]),
    `\`${setting.flag}${value}\``,
    ...(setting.type === 'bool' ? [`\`--no-${setting.flag.slice(2)}\``] : []),
  ];
  return names.join(', ');
}

function envCell(setting: AnySetting): string {
  const main = `\`${setting.env}\``;
  return setting.fallbackEnv === undefined ? main : `${main}, then \`${setting.fallbackEnv}\``;
}

function written(doc: string): string {
  // Written defaults go in a code span; prose defaults ("the current directory") stay prose.
  return /^[\w."':/\-[\]]+$/.test(doc) && !/^(none|the)\b/.test(doc) ? `\`${doc}\`` : doc;
}

function defaultCell(key: SettingKey, setting: AnySetting): string {
  const dev = DEV_DEFAULTS.get(key);
  return written(setting.defaultDoc) + (dev === undefined ? '' : ` (\`cask dev\`: ${written(dev.doc)})`);
}

export function renderConfigDoc(): string {
  const out: string[] = [
    '<!-- Generated from src/config/schema.ts by scripts/gen-config-doc.ts: do not edit by hand, run `npm run docs:config`. -->',
    '',
    '# Configuration',
    '',
    'Every option of `cask serve` and `cask dev` can be given in several places. When one is given in several, the first of these wins:',
    '',
    '1. a command-line flag: `cask serve -w 4 myproject.wsgi:application` (gunicorn\'s and waitress\'s flags too: [compat](compat.md));',
    '2. an environment variable: `CASK_WORKERS=4`;',
    '3. `GUNICORN_CMD_ARGS`, read as gunicorn reads it;',
    '4. a gunicorn config file: `./gunicorn.conf.py`, run with `python` as gunicorn runs it, or the uWSGI ini file `--uwsgi-ini` names ([compat](compat.md));',
    '5. the config file: `./cask.toml`, or else the `[tool.cask]` table of `./pyproject.toml`;',
    '6. the default (for a few options `cask dev` has its own, shown beside it: [development](development.md)).',
    '',
    '`--config` / `CASK_CONFIG` names the one config file to read instead (TOML, or a gunicorn file).',
    '',
    'Cask stops with exit code 2 and a message naming the option, where it came from and the bad value when a value is invalid, and also for an unknown flag, an unknown `CASK_*` environment variable or an unknown key in the config file (with a suggestion when the name is close to a real one). A value is checked even when a higher source overrides it. `cask serve --print-config` prints the settings it would run with, as a `cask.toml`.',
    '',
    'How values are written:',
    '',
    '- **Durations** take a number of seconds or a unit: `30`, `30s`, `1.5s`, `500ms`, `2m`, `1h`.',
    '- **Sizes** take bytes or a unit, in any case: `1024`, `64k`, `10m`, `1g` (also `kb`, `mb`, `gb`); `1k` is 1024 bytes.',
    '- **Switches** are flags without a value (`--print-config`, turned off with `--no-print-config`); in the environment or the file they take `true`, `false`, `yes`, `no`, `1` or `0`.',
    '- **Lists** take a repeated flag (`-b 127.0.0.1:8000 -b unix:/run/cask.sock`), a comma-separated environment variable, or a TOML array.',
    "- **Paths** that are relative are resolved against the current directory for flags and environment variables, and against the config file's directory for the config file.",
    '- In the config file, keys are the long flag names without the dashes. Durations and sizes may be TOML numbers or strings with a unit.',
    '',
    '## Example `cask.toml`',
    '',
    '```toml',
    EXAMPLE_CASK_TOML.trimEnd(),
    '```',
    '',
    '## Example `pyproject.toml`',
    '',
    '```toml',
    EXAMPLE_PYPROJECT_TOML.trimEnd(),
    '```',
  ];
  for (const section of SECTIONS) {
    out.push(
      '',
      `## ${section}`,
      '',
      '| Option | Env | File key | Default | Description |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const key of SETTING_KEYS) {
      const setting: AnySetting = SETTINGS[key];
      if (setting.section !== section) continue;
      const fileKey = setting.inFile ? `\`${setting.flag.slice(2)}\`` : '—';
      out.push(
        `| ${[optionCell(setting), envCell(setting), fileKey, defaultCell(key, setting), setting.doc].map(cell).join(' | ')} |`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(DOC_PATH, renderConfigDoc());
  console.log(`Wrote ${DOC_PATH}`);
}
