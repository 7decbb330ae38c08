// Private to src/config: settings of the servers people move from (gunicorn, uWSGI, waitress),
// each a row that says what Cask does with it. A row turns one value into one of:
//
//   set     honoured or mapped: values for Cask settings, checked by their own parsers
//   ignore  nothing to do here: a warning says why (a gunicorn mechanism Cask does not have)
//   refuse  Cask cannot do what the value asks, and running without it would change what the
//           app sees, how it is secured or where its logs and metrics go: exit 2, saying what
//           Cask does instead
//
// so that no setting is ever dropped in silence. The rows also render docs/compat.md
// (scripts/gen-compat-doc.ts), and a test keeps that page in step with them.

import { ConfigError } from '../errors.js';
import type { SettingKey } from './schema.js';

/** What the docs say about a row, whatever the value. */
export type Status = 'honoured' | 'mapped' | 'ignored' | 'refused';

/** Raw values for Cask settings, as a config file would hold them (parsed by fromToml). */
export type Assignments = Readonly<Partial<Record<SettingKey, unknown>>>;

export type Outcome =
  { readonly set: Assignments } | { readonly ignore: string } | { readonly refuse: string };

/** Nothing to do: the value is the other server's default, or asks for what Cask does anyway. */
export const NOTHING: Outcome = { set: {} };

export interface TranslateContext {
  /** Another value given by the same source, by the other server's name; undefined if none. */
  readonly other: (name: string) => unknown;
  /** Where the source's relative paths are relative to. */
  readonly baseDir: string;
}

export interface ForeignSetting {
  /** The name as the other server spells it (`worker_class`, `http-socket`, `--url-prefix`). */
  readonly name: string;
  /** Its command-line flags, `-k` and `--worker-class`; none for file-only settings. */
  readonly flags: readonly string[];
  /** Whether a flag takes a value (`--threads 4`) or is a switch (`--preload`). */
  readonly takesValue: boolean;
  /** The value a switch gives (`--no-sendfile` is gunicorn's `sendfile = False`); default true. */
  readonly switchValue?: unknown;
  /** The other server's heading for it, to group the docs as its own docs do. */
  readonly section: string;
  readonly status: Status;
  /** What Cask does with it, in Markdown, for docs/compat.md. */
  readonly doc: string;
  /** A value from a file (JSON types) or a flag (its text; `true` for a switch). */
  translate(value: unknown, ctx: TranslateContext): Outcome;
  /** How the flag changes APP as given (waitress's `--call` makes it a factory call). */
  readonly app?: (app: string) => string;
}

export interface Note {
  readonly level: 'info' | 'warn';
  readonly text: string;
}

/** Values for Cask settings from one source, each with the label its errors will show. */
export type Translated = Map<SettingKey, { raw: unknown; label: string }>;

/** The value as the user wrote it, for messages: `"gevent"`, `4`, `["a", "b"]`. */
export function show(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const callable = (value as Record<string, unknown>)['$callable'];
    if (typeof callable === 'string') return `${callable} (a function or class)`;
    const repr = (value as Record<string, unknown>)['$repr'];
    if (typeof repr === 'string') return repr;
  }
  return JSON.stringify(value) ?? String(value);
}

/**
 * Applies one outcome: its values go into `out` under `label` (a later value for the same
 * setting replaces an earlier one, as a repeated flag does); a refusal throws; an ignored
 * value becomes a warning. `what` names the setting in messages: `gunicorn setting
 * worker_class in gunicorn.conf.py`, `gunicorn option -k`.
 */
export function apply(
  outcome: Outcome,
  what: string,
  value: unknown,
  label: string,
  out: Translated,
  notes: Note[],
): void {
  if ('refuse' in outcome) {
    throw new ConfigError(
      `Unsupported ${what}: ${show(value)} (${outcome.refuse})`,
      'CASK_CONFIG_UNSUPPORTED',
    );
  }
  if ('ignore' in outcome) {
    notes.push({ level: 'warn', text: `Ignored ${what}: ${show(value)} (${outcome.ignore})` });
    return;
  }
  for (const [key, raw] of Object.entries(outcome.set) as [SettingKey, unknown][]) {
    out.set(key, { raw, label });
  }
}

/** `true` for the words a config file or flag uses for yes; gunicorn's and uWSGI's spellings. */
export function truthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return /^(1|true|yes|on|y)$/i.test(value.trim());
  return false;
}

/** A list from a file's list or a comma-separated string (gunicorn's `validate_string_to_list`). */
export function commaList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : String(value ?? '').split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '');
}
