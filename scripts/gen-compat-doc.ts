// Writes docs/compat.md from the tables of gunicorn, uWSGI and waitress settings
// (src/config/gunicorn.ts and its siblings). Run `npm run docs:compat` after changing one;
// test/unit/config-compat-doc.test.ts fails while the committed file is stale.

import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ForeignSetting, Status } from '../src/config/foreign.js';
import { GUNICORN_SETTINGS } from '../src/config/gunicorn.js';
import { UWSGI_SETTINGS } from '../src/config/uwsgi.js';
import { WAITRESS_SETTINGS } from '../src/config/waitress.js';

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

function table(
  rows: Iterable<ForeignSetting>,
  nameHeader: string,
  options: { flags?: boolean; headings?: boolean; ignored?: string } = {},
): string[] {
  const out: string[] = [];
  const withFlags = options.flags ?? true;
  let section: string | undefined;
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      out.push(
        '',
        ...(options.headings === false ? [] : [`### ${section}`, '']),
        withFlags
          ? `| ${nameHeader} | Flags | Cask | What Cask does |`
          : `| ${nameHeader} | Cask | What Cask does |`,
        withFlags ? '| --- | --- | --- | --- |' : '| --- | --- | --- |',
      );
    }
    const flags = row.flags.map((f) => `\`${f}\``).join(', ');
    const status =
      row.status === 'ignored' ? (options.ignored ?? STATUS.ignored) : STATUS[row.status];
    const cells = withFlags
      ? [`\`${row.name}\``, flags, status, row.doc]
      : [`\`${row.name}\``, status, row.doc];
    out.push(`| ${cells.map(cell).join(' | ')} |`);
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
    '',
    '## waitress',
    '',
    "`cask serve` takes `waitress-serve`'s flags, so `waitress-serve --listen=*:8080 --threads=8 myapp:app` becomes `cask serve --listen=*:8080 --threads=8 myapp:app`. `--threads` and `--backlog` are Cask's own flags, with the same meaning; `APP` is written as waitress writes it (`module:callable`), and `--app` works too. Where waitress's defaults matter, they are kept: `--host` alone listens on port 8080, `--port` alone on every interface.",
    '',
    `Of its ${WAITRESS_SETTINGS.size} flags besides \`--threads\` and \`--backlog\` (waitress 2 and 3): ${counts(WAITRESS_SETTINGS.values())}.`,
    ...table(WAITRESS_SETTINGS.values(), 'Flag', { flags: false, headings: false }),
    '',
    '## uWSGI',
    '',
    "`cask serve --uwsgi-ini uwsgi.ini` reads the `[uwsgi]` section of the file (`uwsgi.ini:production` reads `[production]`), with uWSGI's placeholders (`%(option)`, `%d`, `%p`, `%n`, `%k`, `$(ENV)`; an option used only as a placeholder is no option). It takes the place of `./gunicorn.conf.py`, between the environment and `cask.toml`. A repeated option adds values (`env`, `static-map`, `pythonpath`), and every listener option (`http`, `http-socket`, `socket`, `https`, …) adds to one list of addresses. Relative paths are relative to `chdir`, as uWSGI changes into it first. Every option below marked skipped, and any option not in this table, is named in one warning at start: `Skipped uWSGI options in uwsgi.ini, which Cask does not read: …`. `--ini`, `--yaml` and `--json` are not read.",
    '',
    `Of the ${UWSGI_SETTINGS.size} options in this table: ${counts(UWSGI_SETTINGS.values()).replace('ignored with a warning', 'skipped with a warning')}.`,
    ...table(UWSGI_SETTINGS.values(), 'Option', {
      flags: false,
      headings: false,
      ignored: 'skipped',
    }),
  ];
  return `${out.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(COMPAT_DOC_PATH, renderCompatDoc());
  console.log(`Wrote ${COMPAT_DOC_PATH}`);
}
