// Writes docs/compat.md from the tables of gunicorn, uWSGI and waitress settings
// (src/config/gunicorn.ts and its siblings). Run `npm run docs:compat` after changing one;
// test/unit/config-compat-doc.test.ts fails while the committed file is stale.

import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ForeignSetting, Status } from '../src/config/foreign.js';
import { GUNICORN_SETTINGS } from '../src/config/gunicorn.js';

export const COMPAT_DOC_PATH = fileURLToPath(new URL('../docs/compat.md', import.meta.url));

const STATUS: Readonly<Record<Status, string>> = {
  honoured: 'honoured',
  mapped: 'mapped',
  ignored: 'ignored',
  refused: '**refused**',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(rows: Iterable<ForeignSetting>, nameHeader: string): string[] {
  const out: string[] = [];
  let section: string | undefined;
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      out.push(
        '',
        `### ${section}`,
        '',
        `| ${nameHeader} | Flags | Cask | What Cask does |`,
        '| --- | --- | --- | --- |',
      );
    }
    const flags = row.flags.map((f) => `\`${f}\``).join(', ');
    out.push(
      `| ${[`\`${row.name}\``, flags, STATUS[row.status], row.doc].map(cell).join(' | ')} |`,
    );
  }
  return out;
}

function counts(rows: Iterable<ForeignSetting>): string {
  const n: Record<Status, number> = { honoured: 0, mapped: 0, ignored: 0, refused: 0 };
  for (const row of rows) n[row.status]++;
  return `${n.honoured} honoured, ${n.mapped} mapped, ${n.ignored} ignored with a warning, ${n.refused} refused`;
}

export function renderCompatDoc(): string {
  const out: string[] = [
    '<!-- Generated from src/config/gunicorn.ts by scripts/gen-compat-doc.ts: do not edit by hand, run `npm run docs:compat`. -->',
    '',
    '# Settings of gunicorn, uWSGI and waitress',
    '',
    'Cask reads the settings of the servers people move from, and says what it does with each one. [migrating.md](migrating.md) shows whole configurations moved over; this page lists every setting. Each is one of:',
    '',
    '- **honoured**: it does what it did, through the Cask option named;',
    '- **mapped**: Cask does the same thing its own way, as described;',
    '- **ignored**: it tunes a mechanism of the other server that Cask does not have, so there is nothing to do; a value other than the default is logged as a warning at start, saying why;',
    '- **refused**: Cask cannot do what it asks, and running without it would change what the app sees, how it is secured, or where its logs or metrics go. A value other than the default stops `cask` with exit code 2 (`CASK_CONFIG_UNSUPPORTED`) and a message saying what Cask does instead.',
    '',
    '## gunicorn',
    '',
    "`cask serve -c gunicorn.conf.py` runs the file with the configured Python as gunicorn runs it (a module whose globals are the settings, with `chdir` first on `sys.path`), once, at start; without `-c`, `./gunicorn.conf.py` is read when it exists, as gunicorn reads it. `-c python:MODULE` and `-c file:PATH` work too. Hook functions in the file run as [hooks](operations.md#hooks), and whatever the file puts in `os.environ` reaches the workers. Globals that are not settings are skipped, as gunicorn skips them (with a warning when one looks like a misspelt setting). gunicorn's flags are taken on the command line, and `GUNICORN_CMD_ARGS` is read.",
    '',
    'Where a setting is given in several places, the first of these wins: a flag, a `CASK_*` variable, `GUNICORN_CMD_ARGS`, the gunicorn config file, `cask.toml` (or `[tool.cask]` of `pyproject.toml`), the default. `-c FILE` names the one file read; relative paths in a gunicorn file are relative to `chdir`, where gunicorn would open them.',
    '',
    `Of its ${GUNICORN_SETTINGS.size} settings (gunicorn 20 to 23): ${counts(GUNICORN_SETTINGS.values())}.`,
    ...table(GUNICORN_SETTINGS.values(), 'Setting'),
  ];
  return `${out.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(COMPAT_DOC_PATH, renderCompatDoc());
  console.log(`Wrote ${COMPAT_DOC_PATH}`);
}
