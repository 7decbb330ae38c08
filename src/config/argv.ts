// Private to src/config: command-line arguments -> raw strings per setting, with our own error
// messages. Parsing is node:util parseArgs: built into Node and maintained with it, so the CLI
// carries no argument-parsing dependency. It runs with `strict: false` and `tokens: true` so
// that unknown options reach us as tokens and get a "did you mean" instead of parseArgs' text.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
import { apply, type ForeignSetting, type Note, type Translated } from './foreign.js';
import { GUNICORN_SETTINGS } from './gunicorn.js';
import { WAITRESS_SETTINGS } from './waitress.js';
import { RENAMED, SETTINGS, SETTING_KEYS, type SettingKey } from './schema.js';
import { closest } from './suggest.js';

type ArgOptions = NonNullable<ParseArgsConfig['options']>;

/** Long option name (no dashes) -> setting, plus `no-<name>` for booleans. */
const BY_NAME = new Map<string, { key: SettingKey; negated: boolean }>();
const OPTIONS: ArgOptions = {};
for (const key of SETTING_KEYS) {
  const setting = SETTINGS[key];
  const name = setting.flag.slice(2);
  const isBool = setting.type === 'bool';
  OPTIONS[name] = {
    type: isBool ? 'boolean' : 'string',
    multiple: setting.multiple,
    ...(setting.short === undefined ? {} : { short: setting.short }),
  };
  BY_NAME.set(name, { key, negated: false });
  if (isBool) {
    OPTIONS[`no-${name}`] = { type: 'boolean' };
    BY_NAME.set(`no-${name}`, { key, negated: true });
  }
}

const POSITIONAL = SETTING_KEYS.find((key) => SETTINGS[key].positional !== undefined);

/**
 * Flags of the servers people move from that Cask takes too (`-k`, `--access-logfile`,
 * `--preload`), by long name, each with its row (foreign.ts) and whose it is. A flag Cask
 * has under the same name is Cask's own (`--threads`, `--bind`); a short letter Cask uses is
 * not taken over.
 */
const FOREIGN = new Map<string, { setting: ForeignSetting; server: string; negated: boolean }>();
/** Any flag's long name (Cask's or another server's) -> that server's setting name, for `other`. */
const FOREIGN_NAME = new Map<string, string>();

function addForeign(server: string, rows: ReadonlyMap<string, ForeignSetting>): void {
  const shorts = new Set(Object.values(OPTIONS).map((o) => o.short));
  for (const setting of rows.values()) {
    const longs = setting.flags.filter((f) => f.startsWith('--')).map((f) => f.slice(2));
    const short = setting.flags.find((f) => /^-[A-Za-z]$/.test(f))?.slice(1);
    // A short letter goes with the first long flag registered here; when Cask has every long
    // one (gunicorn's `-k` for Cask's own `--worker-class`), with a name of its own.
    const first = longs.find((name) => !BY_NAME.has(name) && !FOREIGN.has(name));
    if (first === undefined && short !== undefined && !shorts.has(short)) longs.push(`-${short}`);
    for (const name of longs) {
      if (!FOREIGN_NAME.has(name)) FOREIGN_NAME.set(name, setting.name);
      if (BY_NAME.has(name) || FOREIGN.has(name)) continue;
      const letter =
        (name === first || name === `-${short}`) && short !== undefined && !shorts.has(short)
          ? short
          : undefined;
      if (letter !== undefined) shorts.add(letter);
      OPTIONS[name] = {
        type: setting.takesValue ? 'string' : 'boolean',
        multiple: true,
        ...(letter === undefined ? {} : { short: letter }),
      };
      // `--no-ipv6` beside `--ipv6`: the switch turned off.
      const negated = name.startsWith('no-') && longs.includes(name.slice(3));
      FOREIGN.set(name, { setting, server, negated });
    }
  }
}
addForeign('gunicorn', GUNICORN_SETTINGS);
addForeign('waitress', WAITRESS_SETTINGS);

/** A value a foreign row gave a setting, as the text a flag would have carried. */
function asFlagValues(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map((item) => String(item));
  return [String(raw)];
}

function tokensOf(argv: readonly string[], options: ArgOptions) {
  return parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  }).tokens;
}

/** Raw values from the command line: every occurrence, in order, and the label to blame. */
export type ArgvValues = ReadonlyMap<
  SettingKey,
  { readonly label: string; readonly values: string[] }
>;

/**
 * Reads the command line. Another server's flag (`-k gthread`, `--access-logfile -`) gives the
 * values its row says; one Cask ignores adds a warning to `notes`, one it refuses throws.
 * `baseDir` is where relative paths in those values are relative to.
 */
export function readArgv(
  argv: readonly string[],
  notes: Note[] = [],
  baseDir: string = process.cwd(),
): ArgvValues {
  const out = new Map<SettingKey, { label: string; values: string[] }>();
  const positionals: string[] = [];
  const tokens = tokensOf(argv, OPTIONS);
  // What other servers' flags do to APP (waitress's `--call`), applied once APP is known.
  const appChanges: ((app: string) => string)[] = [];
  // What the other server's rows may look at: every value given, by that server's name.
  const given = new Map<string, unknown>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const name = FOREIGN_NAME.get(token.name);
    if (name !== undefined) given.set(name, token.value ?? !FOREIGN.get(token.name)?.negated);
  }
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;

    const entry = BY_NAME.get(token.name);
    // A short letter's own name (`-k`) is no long flag: `---k` is unknown.
    const synthetic = token.name.startsWith('-') && token.rawName.startsWith('--');
    const foreign = entry === undefined && !synthetic ? FOREIGN.get(token.name) : undefined;
    if (foreign !== undefined) {
      const { setting, server, negated } = foreign;
      if (setting.takesValue && token.value === undefined) {
        throw new ConfigError(`Missing value for ${token.rawName}`);
      }
      const value = setting.takesValue
        ? token.value
        : negated
          ? false
          : (setting.switchValue ?? true);
      if (setting.app !== undefined && !negated) appChanges.push(setting.app);
      const translated: Translated = new Map();
      const outcome = setting.translate(value, { other: (n) => given.get(n), baseDir });
      apply(outcome, `${server} option ${token.rawName}`, value, token.rawName, translated, notes);
      for (const [key, { raw, label }] of translated) {
        const slot = out.get(key) ?? { label, values: [] };
        slot.values.push(...asFlagValues(raw));
        out.set(key, slot);
      }
      continue;
    }
    if (entry === undefined) {
      const names = [...BY_NAME.keys()];
      const renamed = Object.fromEntries(
        Object.entries(RENAMED).map(([old, key]) => [old, SETTINGS[key].flag.slice(2)]),
      );
      const guess = token.rawName.startsWith('--')
        ? closest(token.name, names, renamed)
        : undefined;
      throw new ConfigError(
        `Unknown option: ${token.rawName}${guess === undefined ? '' : ` (did you mean --${guess}?)`}`,
      );
    }
    const setting = SETTINGS[entry.key];
    const flag = entry.negated ? `--no-${setting.flag.slice(2)}` : setting.flag;
    let value: string;
    if (setting.type === 'bool') {
      if (entry.negated && token.value !== undefined) {
        throw new ConfigError(`Unexpected value for ${flag}: "${token.value}" (it takes none)`);
      }
      // `--print-config=false` is allowed; the value is checked by the bool parser.
      value = entry.negated ? 'false' : (token.value ?? 'true');
    } else {
      if (token.value === undefined) throw new ConfigError(`Missing value for ${flag}`);
      // parseArgs would take `--workers --threads 2` as workers="--threads"; strict parseArgs
      // calls that ambiguous, and so do we. Negative numbers and a lone `-` are values.
      if (!token.inlineValue && /^-[^\d.]/.test(token.value)) {
        throw new ConfigError(
          `Missing value for ${flag}: "${token.value}" is an option (write ${flag}=${token.value} if it is the value)`,
        );
      }
      value = token.value;
    }
    const slot = out.get(entry.key) ?? { label: setting.flag, values: [] };
    slot.values.push(value);
    out.set(entry.key, slot);
  }

  if (positionals.length > 0) {
    const key = POSITIONAL;
    const [first, ...extra] = positionals;
    if (key === undefined || first === undefined) {
      throw new ConfigError(`Unexpected argument: "${positionals[0]}"`);
    }
    const name = SETTINGS[key].positional ?? key;
    if (extra.length > 0) {
      throw new ConfigError(`Unexpected argument: "${extra[0]}" (only one ${name} may be given)`);
    }
    const flagged = out.get(key)?.values.at(-1);
    if (flagged !== undefined) {
      throw new ConfigError(
        `Conflicting values for ${name}: "${first}" and ${SETTINGS[key].flag} "${flagged}"`,
      );
    }
    out.set(key, { label: name, values: [first] });
  }
  const app = out.get('app');
  if (app !== undefined && appChanges.length > 0) {
    app.values = app.values.map((value) => appChanges.reduce((v, change) => change(v), value));
  }
  return out;
}

/** True when `-h` or `--help` is among the options (before any `--`), whatever else is there. */
export function wantsHelp(argv: readonly string[]): boolean {
  const options: ArgOptions = { ...OPTIONS, help: { type: 'boolean', short: 'h' } };
  return tokensOf(argv, options).some((t) => t.kind === 'option' && t.name === 'help');
}
