// Private to src/config: command-line arguments -> raw strings per setting, with our own error
// messages. Parsing is node:util parseArgs: built into Node and maintained with it, so the CLI
// carries no argument-parsing dependency. It runs with `strict: false` and `tokens: true` so
// that unknown options reach us as tokens and get a "did you mean" instead of parseArgs' text.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
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

export function readArgv(argv: readonly string[]): ArgvValues {
  const out = new Map<SettingKey, { label: string; values: string[] }>();
  const positionals: string[] = [];
  for (const token of tokensOf(argv, OPTIONS)) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;

    const entry = BY_NAME.get(token.name);
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
  return out;
}

/** True when `-h` or `--help` is among the options (before any `--`), whatever else is there. */
export function wantsHelp(argv: readonly string[]): boolean {
  const options: ArgOptions = { ...OPTIONS, help: { type: 'boolean', short: 'h' } };
  return tokensOf(argv, options).some((t) => t.kind === 'option' && t.name === 'help');
}
