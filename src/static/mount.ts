// Private to src/static: the `--static PREFIX=DIR` and `--sendfile-root DIR` values, checked
// when the settings are loaded so that a typo stops the server at start (exit 2) rather than
// answering 404 for every asset.

import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export interface MountSpec {
  /** `/static` (no trailing slash), or `/` for the root. */
  readonly prefix: string;
  /** Absolute. */
  readonly dir: string;
}

/**
 * Parses `PREFIX=DIR`; a relative DIR is resolved against `baseDir`. Returns the reason when the
 * value is bad, completing the sentence `"<value>" <reason>`.
 */
export function parseMount(raw: string, baseDir: string): MountSpec | string {
  const eq = raw.indexOf('=');
  if (eq === -1) return 'is not PREFIX=DIR (write /static=./staticfiles)';
  const prefix = checkPrefix(raw.slice(0, eq).trim());
  if (typeof prefix !== 'object') return prefix;
  const dirText = raw.slice(eq + 1).trim();
  if (dirText === '') return 'has no directory after "="';
  const dir = isAbsolute(dirText) ? dirText : resolve(baseDir, dirText);
  const problem = checkDirectory(dir);
  return problem ?? { prefix: prefix.prefix, dir: dir.length > 1 ? dir.replace(/\/+$/, '') : dir };
}

function checkPrefix(text: string): { prefix: string } | string {
  if (!text.startsWith('/')) return 'has a prefix that does not start with "/"';
  if (/[?#%\\\s]/.test(text)) return 'has a prefix with a "?", "#", "%", "\\" or a space';
  const prefix = text.length > 1 ? text.replace(/\/$/, '') : text;
  if (
    prefix !== '/' &&
    prefix
      .slice(1)
      .split('/')
      .some((s) => s === '' || s === '.' || s === '..')
  ) {
    return 'has a prefix with an empty, "." or ".." segment';
  }
  return { prefix };
}

/** Why `dir` cannot be served from, or undefined when it can. */
export function checkDirectory(dir: string): string | undefined {
  if (dir.includes('\0')) return 'contains a NUL byte';
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) return `names a directory that does not exist: ${dir}`;
  if (!stat.isDirectory()) return `is not a directory: ${dir}`;
  return undefined;
}

/** `/static=/srv/site/static`, as the flag takes it (for `--print-config`). */
export function formatMount(mount: MountSpec): string {
  return `${mount.prefix}=${mount.dir}`;
}
