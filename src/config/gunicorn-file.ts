// Private to src/config: a gunicorn config file as a source of settings. The file is Python,
// so the configured interpreter runs it once, at start, with python/cask_worker/gunicorn_conf.py,
// which prints the module's globals as JSON; the rows of gunicorn.ts turn them into Cask
// settings. load.ts puts the result between the environment and cask.toml.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { readArgv, type ArgvValues } from './argv.js';
import { apply, type Note, type Translated } from './foreign.js';
import { GUNICORN_SETTINGS, gunicornLabel } from './gunicorn.js';
import type { SettingKey } from './schema.js';
import { closest } from './suggest.js';

/** Long enough for a config file that imports the project's settings (Django's, say). */
const READ_TIMEOUT_MS = 60_000;
/** python/cask_worker/gunicorn_conf.py's exit codes. */
const EXIT_MISSING = 2;

export interface GunicornFileOptions {
  /** The interpreter, as `python` resolves without the file (it cannot name its own reader). */
  readonly python: string;
  /** Where the file is run, as gunicorn runs it: its `chdir`, without the file. */
  readonly chdir: string;
  readonly packageRoot: string;
}

interface ReaderOutput {
  file: string | null;
  module: string | null;
  settings: Record<string, unknown>;
  env: Record<string, string | null>;
}

/**
 * A `--config` value names a gunicorn config file when it is a `.py` file, `python:MODULE`,
 * `file:PATH`, or a file whose name starts with `gunicorn` (gunicorn reads `gunicorn.conf`
 * as Python too); anything else is TOML.
 */
export function isGunicornLocation(location: string): boolean {
  return (
    location.endsWith('.py') ||
    location.startsWith('python:') ||
    location.startsWith('file:') ||
    basename(location).startsWith('gunicorn')
  );
}

/** `./gunicorn.conf.py` when present: gunicorn reads it without being told, and so does Cask. */
export function defaultGunicornFile(cwd: string): string | null {
  const path = resolve(cwd, 'gunicorn.conf.py');
  return existsSync(path) ? path : null;
}

function run(location: string, options: GunicornFileOptions): ReaderOutput {
  const python = join(options.packageRoot, 'python');
  // The process's own environment, as the workers get it: the file may read os.environ.
  const pythonPath = process.env['PYTHONPATH'];
  const env = {
    ...process.env,
    PYTHONPATH: pythonPath ? `${python}${delimiter}${pythonPath}` : python,
    PYTHONDONTWRITEBYTECODE: '1',
  };
  const name = location.startsWith('python:') ? location : basename(location);
  const result = spawnSync(
    options.python,
    ['-m', 'cask_worker.gunicorn_conf', '--chdir', options.chdir, location],
    { env, encoding: 'utf8', timeout: READ_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
  const fail = (why: string): never => {
    throw new ConfigError(
      `Cannot read the gunicorn config file ${name}: ${why}`,
      'CASK_CONFIG_FILE',
    );
  };
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    fail(
      code === 'ENOENT'
        ? `cannot run ${options.python} (no such command; set --python)`
        : code === 'ETIMEDOUT'
          ? `it ran for more than ${READ_TIMEOUT_MS / 1000} s`
          : result.error.message,
    );
  }
  if (result.status === EXIT_MISSING) fail('no such file');
  if (result.status !== 0) {
    const traceback = result.stderr.trimEnd();
    fail(`it raised an exception${traceback === '' ? '' : `:\n${traceback}`}`);
  }
  try {
    return JSON.parse(result.stdout) as ReaderOutput;
  } catch {
    return fail(`${options.python} printed no settings (is it CPython 3.8+ or PyPy?)`);
  }
}

/**
 * Runs the file and translates its settings. Globals that are not gunicorn settings are
 * skipped, as gunicorn skips them, with a warning when one looks like a misspelt setting.
 */
export function readGunicornFile(
  location: string,
  options: GunicornFileOptions,
  notes: Note[],
): { label: string; values: Translated } {
  const output = run(location, options);
  const label = gunicornLabel(output.file, output.module);
  const settings = output.settings;
  const hooks = output.file ?? output.module;
  const other = (name: string): unknown => (name === '$hooks' ? hooks : settings[name]);
  const values: Translated = new Map();
  const names = [...GUNICORN_SETTINGS.keys()];
  for (const [name, value] of Object.entries(settings)) {
    const setting = GUNICORN_SETTINGS.get(name);
    if (setting === undefined) {
      const guess = /^[a-z_]+$/.test(name) ? closest(name, names) : undefined;
      if (guess !== undefined) {
        notes.push({
          level: 'warn',
          text: `Unknown gunicorn setting in ${label}: ${name} (did you mean ${guess}? gunicorn skips it too)`,
        });
      }
      continue;
    }
    const outcome = setting.translate(value, { other, baseDir: options.chdir });
    apply(
      outcome,
      `gunicorn setting ${name} in ${label}`,
      value,
      `${name} in ${label}`,
      values,
      notes,
    );
  }
  // What the file put in os.environ reaches the workers, as gunicorn's workers inherit it.
  const set = Object.entries(output.env).filter((e): e is [string, string] => e[1] !== null);
  if (set.length > 0) {
    const given = values.get('env');
    const before = given === undefined ? [] : (given.raw as unknown[]);
    values.set('env', {
      raw: [...before, ...set.map(([k, v]) => `${k}=${v}`)],
      label: given?.label ?? `os.environ in ${label}`,
    });
  }
  for (const [key, value] of Object.entries(output.env)) {
    if (value === null) {
      notes.push({
        level: 'warn',
        text: `Ignored removal of ${key} from the environment in ${label}: Cask's workers get the environment Cask was started with`,
      });
    }
  }
  notes.push({ level: 'info', text: `Read gunicorn settings from ${label}` });
  return { label, values };
}

/**
 * Splits GUNICORN_CMD_ARGS into words as gunicorn does (Python's shlex.split): whitespace
 * separates, quotes group, a backslash escapes outside single quotes.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (c === '\\' && i + 1 < text.length) {
      const next = text[++i] as string;
      // Inside double quotes a backslash escapes only these, as in POSIX sh.
      word = (word ?? '') + (quote === '"' && !'\\"$`'.includes(next) ? `\\${next}` : next);
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) {
    throw new ConfigError(
      `Invalid value for GUNICORN_CMD_ARGS: ${JSON.stringify(text)} has an unclosed quote`,
    );
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * The flags in GUNICORN_CMD_ARGS, Cask's and gunicorn's alike, labelled as coming from there.
 * An APP in it is skipped with a warning, as gunicorn skips positional arguments there.
 */
export function gunicornCmdArgs(
  env: Readonly<Record<string, string | undefined>>,
  notes: Note[],
  cwd: string,
): ArgvValues {
  const text = env['GUNICORN_CMD_ARGS'];
  if (text === undefined || text.trim() === '') return new Map();
  const read = readArgv(splitWords(text), notes, cwd);
  const out = new Map<SettingKey, { label: string; values: string[] }>();
  for (const [key, { label, values }] of read) {
    if (label === 'APP') {
      notes.push({
        level: 'warn',
        text: `Ignored APP in GUNICORN_CMD_ARGS: ${JSON.stringify(values[0])} (give it on the command line, as gunicorn does)`,
      });
      continue;
    }
    out.set(key, { label: `${label} in GUNICORN_CMD_ARGS`, values });
  }
  return out;
}
