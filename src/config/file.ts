// Private to src/config: find and read the config file (cask.toml, or [tool.cask] of
// pyproject.toml). Keys are checked against the table in load.ts; this module only yields a
// plain table and a label that names the file in error messages.

import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from '../errors.js';

export interface ConfigFile {
  /** Absolute path of the file that was read. */
  readonly path: string;
  /** How errors name it: `cask.toml`, `conf/cask.toml`, `pyproject.toml [tool.cask]`. */
  readonly label: string;
  readonly table: Readonly<Record<string, unknown>>;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function display(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Reads the file; `undefined` when it does not exist and `optional` is set. */
function readToml(
  path: string,
  name: string,
  optional: boolean,
): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return undefined;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
    throw new ConfigError(
      `Cannot read the config file: ${name} (${why ?? String(err)})`,
      'CASK_CONFIG_FILE',
    );
  }
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    throw new ConfigError(
      `Invalid TOML in ${name}: ${reason} (line ${err.line}, column ${err.column})`,
      'CASK_CONFIG_FILE',
    );
  }
}

function fromPyproject(path: string, cwd: string, explicit: boolean): ConfigFile | null {
  const name = display(path, cwd);
  const doc = readToml(path, name, !explicit);
  if (doc === undefined) return null;
  const tool = doc['tool'];
  const cask = isTable(tool) ? tool['cask'] : undefined;
  const label = `${name} [tool.cask]`;
  if (cask === undefined) {
    if (!explicit) return null;
    throw new ConfigError(
      `Cannot read the config file: ${name} has no [tool.cask] table`,
      'CASK_CONFIG_FILE',
    );
  }
  if (!isTable(cask)) {
    throw new ConfigError(
      `Invalid value for tool.cask in ${name}: it is not a table`,
      'CASK_CONFIG_FILE',
    );
  }
  return { path, label, table: cask };
}

/**
 * The config file to use: `explicit` (from --config or CASK_CONFIG) if given; else
 * `./cask.toml` if present; else `./pyproject.toml` if it has a `[tool.cask]` table; else none.
 * A file named `pyproject.toml` is always read from its `[tool.cask]` table.
 */
export function findConfigFile(explicit: string | null, cwd: string): ConfigFile | null {
  if (explicit !== null) {
    const path = resolve(cwd, explicit);
    if (basename(path) === 'pyproject.toml') return fromPyproject(path, cwd, true);
    const name = display(path, cwd);
    const table = readToml(path, name, false) ?? {};
    return { path, label: name, table };
  }
  const caskToml = resolve(cwd, 'cask.toml');
  const table = readToml(caskToml, 'cask.toml', true);
  if (table !== undefined) return { path: caskToml, label: 'cask.toml', table };
  return fromPyproject(resolve(cwd, 'pyproject.toml'), cwd, false);
}

/** Relative paths written in a config file are relative to the file, not to the shell. */
export function fileDir(file: ConfigFile): string {
  return dirname(file.path);
}
