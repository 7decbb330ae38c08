// Private to src/config: one builder per value type, so each row of the table in schema.ts is a
// single call that states the type, the default as a user would write it, and the doc.

import {
  checkBytes,
  checkRange,
  checkSeconds,
  parseBool,
  parseBytes,
  parseChoice,
  parseInteger,
  parseNumber,
  parsePath,
  parseSeconds,
} from './parse.js';
import {
  InvalidValue,
  type DefaultContext,
  type Section,
  type Setting,
  type TypeName,
  type ValueContext,
} from './types.js';

interface Common<F extends string, E extends string> {
  readonly flag: F;
  readonly env: E;
  readonly short?: string;
  readonly section: Section;
  readonly doc: string;
  readonly metavar?: string;
  readonly inFile?: boolean;
  readonly positional?: string;
  readonly fallbackEnv?: string;
  /** What the docs show as the default when the written one needs words (`none` is not enough). */
  readonly defaultDoc?: string;
}

/** A default that depends on the environment; `doc` is what the docs show instead. */
export interface Computed<T> {
  readonly doc: string;
  compute(ctx: DefaultContext): T;
}

function isComputed<T>(d: unknown): d is Computed<T> {
  return typeof d === 'object' && d !== null && 'compute' in d;
}

interface Row<T> {
  type: TypeName;
  metavar: string;
  /** The default as written in the table; parsed by `fromString` once, at import. */
  written: unknown;
  defaultDoc: string;
  fromString(raw: string, ctx: ValueContext): T;
  fromToml(raw: unknown, ctx: ValueContext): T;
  multiple?: boolean;
  choices?: readonly string[];
  fromArgv?(values: readonly string[], ctx: ValueContext): T;
  fromEnv?(raw: string, ctx: ValueContext): T;
}

// Written defaults are parsed against `/`: none of them is a relative path.
const ROOT: ValueContext = { baseDir: '/' };

function build<T, F extends string, E extends string>(
  common: Common<F, E>,
  row: Row<T>,
): Setting<T, F, E> {
  const { written } = row;
  let defaultValue: (ctx: DefaultContext) => T;
  if (isComputed<T>(written)) {
    defaultValue = (ctx) => written.compute(ctx);
  } else {
    // Parse the written default now: a typo in the table fails at import, not in production.
    const fixed = row.fromToml(written, ROOT);
    defaultValue = () => fixed;
  }
  return {
    type: row.type,
    flag: common.flag,
    ...(common.short === undefined ? {} : { short: common.short }),
    env: common.env,
    inFile: common.inFile ?? true,
    ...(common.positional === undefined ? {} : { positional: common.positional }),
    ...(common.fallbackEnv === undefined ? {} : { fallbackEnv: common.fallbackEnv }),
    section: common.section,
    doc: common.doc,
    metavar: common.metavar ?? row.metavar,
    defaultDoc: isComputed(written) ? written.doc : (common.defaultDoc ?? row.defaultDoc),
    ...(row.choices === undefined ? {} : { choices: row.choices }),
    multiple: row.multiple ?? false,
    defaultValue,
    // A repeated scalar flag: the last one wins, as in every getopt-style CLI.
    fromArgv: row.fromArgv ?? ((values, ctx) => row.fromString(values.at(-1) ?? '', ctx)),
    fromEnv: row.fromEnv ?? ((raw, ctx) => row.fromString(raw, ctx)),
    fromToml: row.fromToml,
  };
}

/** TOML numbers are taken as they are; TOML strings go through the same parser as flags. */
function numeric(
  name: string,
  parse: (raw: string) => number,
  check: (n: number) => number,
): (raw: unknown) => number {
  return (raw) => {
    if (typeof raw === 'string') return parse(raw);
    if (typeof raw === 'number') return check(raw);
    throw new InvalidValue(`is not ${name}`);
  };
}

function text(raw: unknown): string {
  if (typeof raw !== 'string') throw new InvalidValue('is not a string');
  return raw;
}

interface IntSpec<F extends string, E extends string> extends Common<F, E> {
  readonly default: number | Computed<number>;
  readonly min?: number;
  readonly max?: number;
}

export function int<const F extends string, const E extends string>(
  spec: IntSpec<F, E>,
): Setting<number, F, E> {
  const check = (n: number): number => {
    if (!Number.isSafeInteger(n)) throw new InvalidValue('is not an integer');
    return checkRange(n, spec.min, spec.max);
  };
  const fromString = (raw: string): number => check(parseInteger(raw));
  return build(spec, {
    type: 'int',
    metavar: 'INT',
    written: spec.default,
    defaultDoc: String(spec.default),
    fromString,
    fromToml: numeric('an integer', fromString, check),
  });
}

interface NumberSpec<F extends string, E extends string> extends Common<F, E> {
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}

export function number<const F extends string, const E extends string>(
  spec: NumberSpec<F, E>,
): Setting<number, F, E> {
  const check = (n: number): number => {
    if (!Number.isFinite(n)) throw new InvalidValue('is not a number');
    return checkRange(n, spec.min, spec.max);
  };
  const fromString = (raw: string): number => check(parseNumber(raw));
  return build(spec, {
    type: 'number',
    metavar: 'NUMBER',
    written: spec.default,
    defaultDoc: String(spec.default),
    fromString,
    fromToml: numeric('a number', fromString, check),
  });
}

interface UnitSpec<F extends string, E extends string> extends Common<F, E> {
  /** Written with its unit: `'30s'`, `'1g'`. */
  readonly default: string;
}

/** A duration in seconds (fractions allowed); accepts `30`, `30s`, `500ms`, `2m`, `1h`. */
export function seconds<const F extends string, const E extends string>(
  spec: UnitSpec<F, E>,
): Setting<number, F, E> {
  return build(spec, {
    type: 'seconds',
    metavar: 'SECONDS',
    written: spec.default,
    defaultDoc: spec.default,
    fromString: parseSeconds,
    fromToml: numeric('a duration (write 30, 30s, 500ms or 2m)', parseSeconds, checkSeconds),
  });
}

/** A size in bytes; accepts `1024`, `64k`, `10m`, `1g` (also `kb`, `mb`, `gb`; 1k = 1024). */
export function bytes<const F extends string, const E extends string>(
  spec: UnitSpec<F, E>,
): Setting<number, F, E> {
  return build(spec, {
    type: 'bytes',
    metavar: 'SIZE',
    written: spec.default,
    defaultDoc: spec.default,
    fromString: parseBytes,
    fromToml: numeric('a size (write 1024, 64k, 10m or 1g)', parseBytes, checkBytes),
  });
}

interface BoolSpec<F extends string, E extends string> extends Common<F, E> {
  readonly default: boolean;
}

/** A flag without a value (`--no-…` turns it off); env and file take true/false/yes/no/1/0. */
export function bool<const F extends string, const E extends string>(
  spec: BoolSpec<F, E>,
): Setting<boolean, F, E> {
  return build(spec, {
    type: 'bool',
    metavar: '',
    written: spec.default,
    defaultDoc: String(spec.default),
    fromString: parseBool,
    fromToml: (raw) => {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' || typeof raw === 'number') return parseBool(String(raw));
      throw new InvalidValue('is not a boolean (write true or false)');
    },
  });
}

interface StringSpec<F extends string, E extends string, D> extends Common<F, E> {
  /** `null` means "not set" and makes the value `string | null`. */
  readonly default: D;
  /** Throws InvalidValue for a value the option cannot take. */
  readonly validate?: (value: string) => void;
}

type Nullable<D, T> = D extends null ? T | null : T;

export function string<
  const F extends string,
  const E extends string,
  const D extends string | null | Computed<string>,
>(spec: StringSpec<F, E, D>): Setting<Nullable<D, string>, F, E> {
  const fromString = (raw: string): string => {
    spec.validate?.(raw);
    return raw;
  };
  return build<Nullable<D, string>, F, E>(spec, {
    type: 'string',
    metavar: 'TEXT',
    written: spec.default,
    defaultDoc: spec.default === null ? 'none' : JSON.stringify(spec.default),
    fromString,
    // The `null` default is the only value that is not a string; no source can write null.
    fromToml: (raw) => (raw === null ? null : fromString(text(raw))) as Nullable<D, string>,
  });
}

interface PathSpec<F extends string, E extends string, D> extends Common<F, E> {
  readonly default: D;
  /** A bare name without a slash (`python3`) is a command found on PATH, not a relative path. */
  readonly command?: boolean;
  /** `-` stands for the process's own stdout or stderr and is kept as is. */
  readonly dash?: boolean;
  /** Throws InvalidValue for a path the option cannot take (checked after resolving it). */
  readonly validate?: (value: string) => void;
}

/** A file system path; a relative one is resolved against where it was written (see load.ts). */
export function path<
  const F extends string,
  const E extends string,
  const D extends string | null | Computed<string>,
>(spec: PathSpec<F, E, D>): Setting<Nullable<D, string>, F, E> {
  const fromString = (raw: string, ctx: ValueContext): string => {
    if (spec.dash === true && raw === '-') return raw;
    if (spec.command === true && raw !== '' && !/[\\/]/.test(raw)) return raw;
    const resolved = parsePath(raw, ctx.baseDir);
    spec.validate?.(resolved);
    return resolved;
  };
  return build<Nullable<D, string>, F, E>(spec, {
    type: 'path',
    metavar: spec.dash === true ? 'PATH|-' : 'PATH',
    written: spec.default,
    defaultDoc: spec.default === null ? 'none' : String(spec.default),
    fromString,
    fromToml: (raw, ctx) =>
      (raw === null ? null : fromString(text(raw), ctx)) as Nullable<D, string>,
  });
}

interface ListSpec<T, F extends string, E extends string> extends Common<F, E> {
  readonly default: readonly string[] | Computed<readonly T[]>;
  readonly metavar: string;
  readonly item: (raw: string, ctx: ValueContext) => T;
  readonly minItems?: number;
  /**
   * Also accept a TOML table in the config file, each entry turned into one item's text
   * (`[static]` with `"/static" = "dir"` becomes `/static=dir`).
   */
  readonly tableItem?: (key: string, value: unknown) => string;
  /**
   * A flag's value may hold several items, comma-separated, as in the env var: for items that
   * never contain a comma, where gunicorn takes a comma-separated list (`--forwarded-allow-ips
   * 10.0.0.1,10.0.0.2`).
   */
  readonly commas?: boolean;
}

function splitCommas(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A repeatable flag, a comma-separated env var, a TOML array (or one TOML string). */
export function list<T, const F extends string, const E extends string>(
  spec: ListSpec<T, F, E>,
): Setting<readonly T[], F, E> {
  const items = (raws: readonly unknown[], ctx: ValueContext): readonly T[] => {
    const out = raws.map((raw) => {
      try {
        return spec.item(text(raw), ctx);
      } catch (err) {
        if (err instanceof InvalidValue && err.value === undefined) {
          throw new InvalidValue(err.reason, raw);
        }
        throw err;
      }
    });
    if (out.length < (spec.minItems ?? 0)) {
      throw new InvalidValue(`needs at least ${spec.minItems} ${spec.metavar.toLowerCase()}`);
    }
    return out;
  };
  const fromEnv = (raw: string, ctx: ValueContext): readonly T[] => items(splitCommas(raw), ctx);
  return build(spec, {
    type: 'list',
    metavar: spec.metavar,
    written: Array.isArray(spec.default) ? [...spec.default] : spec.default,
    defaultDoc: Array.isArray(spec.default)
      ? spec.default.length === 0
        ? 'none'
        : spec.default.join(', ')
      : '',
    multiple: true,
    fromString: fromEnv,
    fromArgv:
      spec.commas === true ? (values, ctx) => items(values.flatMap(splitCommas), ctx) : items,
    fromEnv,
    fromToml: (raw, ctx) => {
      const table = spec.tableItem;
      if (table !== undefined && typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
        return items(
          Object.entries(raw).map(([key, value]) => table(key, value)),
          ctx,
        );
      }
      return items(Array.isArray(raw) ? raw : [raw], ctx);
    },
  });
}

interface ChoiceSpec<C extends string, F extends string, E extends string> extends Common<F, E> {
  readonly choices: readonly C[];
  readonly default: NoInfer<C>;
  /** Other spellings of a choice, such as gunicorn's numbers (`2` for `required`). */
  readonly aliases?: Readonly<Record<string, NoInfer<C>>>;
}

/**
 * One of a fixed set of lowercase words (matched case-insensitively). A TOML number is read as
 * the word it spells, so `tls-min-version = 1.3` means `"1.3"`.
 */
export function choice<const C extends string, const F extends string, const E extends string>(
  spec: ChoiceSpec<C, F, E>,
): Setting<C, F, E> {
  const fromString = (raw: string): C =>
    spec.aliases?.[raw.trim()] ?? parseChoice(raw, spec.choices);
  return build(spec, {
    type: 'enum',
    metavar: spec.choices.join('|'),
    written: spec.default,
    defaultDoc: spec.default,
    choices: spec.choices,
    fromString,
    fromToml: (raw) => fromString(typeof raw === 'number' ? String(raw) : text(raw)),
  });
}
