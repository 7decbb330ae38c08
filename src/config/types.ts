// Private to src/config: the shape of one row of the settings table, and the type-level
// spelling rules that tie a key to its flag and environment variable.

/** Raised by value parsers; `load.ts` turns it into a ConfigError that names the source. */
export class InvalidValue extends Error {
  /**
   * `reason` completes the sentence `"<value>" <reason>`, e.g. `is not an integer`. `value` is
   * set when the culprit is one item of a list rather than the whole value.
   */
  constructor(
    readonly reason: string,
    readonly value?: unknown,
  ) {
    super(reason);
    this.name = 'InvalidValue';
  }
}

/** The docs and `--help` group options under these headings, in this order. */
export const SECTIONS = [
  'Application',
  'Server socket',
  'TLS',
  'Workers',
  'Recycling',
  'Timeouts',
  'Request limits',
  'WebSocket',
  'Server mechanics',
  'Health',
  'Static files and compression',
  'Logging',
  'Development',
  'Config file',
] as const;
export type Section = (typeof SECTIONS)[number];

export type TypeName =
  'int' | 'number' | 'seconds' | 'bytes' | 'bool' | 'string' | 'path' | 'list' | 'enum';

/** What a computed default may look at: never `process.*`, so tests can pin it. */
export interface DefaultContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly packageRoot: string;
}

/** Where a value came from: relative paths resolve against `baseDir`. */
export interface ValueContext {
  /** The working directory for flags and env vars; the file's directory for the config file. */
  readonly baseDir: string;
}

/** One row of the table. `T` is the validated value type that ends up in `Config`. */
export interface Setting<T, F extends string = string, E extends string = string> {
  readonly type: TypeName;
  readonly flag: F;
  readonly short?: string;
  readonly env: E;
  /** False for the few options that make no sense inside a config file (`config` itself). */
  readonly inFile: boolean;
  /** A positional name (`APP`) that sets this option too. */
  readonly positional?: string;
  /** Another environment variable read when neither the file nor `env` sets it (gunicorn). */
  readonly fallbackEnv?: string;
  readonly section: Section;
  readonly doc: string;
  /** Placeholder for the value in `--help`: INT, SECONDS, ADDRESS, … */
  readonly metavar: string;
  /** The default as a user would write it, with its unit: `30s`, `1g`, `127.0.0.1:8000`. */
  readonly defaultDoc: string;
  readonly choices?: readonly string[];
  /** Repeatable flag, comma-separated env var, TOML array. */
  readonly multiple: boolean;
  defaultValue(ctx: DefaultContext): T;
  /** From every occurrence of the flag, in order (a bool flag arrives as `true` or `false`). */
  fromArgv(values: readonly string[], ctx: ValueContext): T;
  /** From an env var; lists are comma-separated. */
  fromEnv(raw: string, ctx: ValueContext): T;
  /** From a parsed TOML value of any type. */
  fromToml(raw: unknown, ctx: ValueContext): T;
}

// deno-style rule made checkable: `maxBodySize` -> `max-body-size` -> `MAX_BODY_SIZE`.
type KebabTail<S extends string> = S extends `${infer C}${infer Rest}`
  ? `${C extends Lowercase<C> ? C : `-${Lowercase<C>}`}${KebabTail<Rest>}`
  : '';
export type Kebab<S extends string> = KebabTail<S>;
type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;

export type FlagOf<K extends string> = `--${Kebab<K>}`;
export type EnvOf<K extends string> = `CASK_${Uppercase<Snake<Kebab<K>>>}`;

/** Any row, whatever its value type (`Setting` is covariant in `T`). */
export type AnySetting = Setting<unknown>;

/**
 * The table's own type check: every key has exactly one row (object keys are unique) and that
 * row's flag and env var are spelled from the key. A row for `maxQueue` with
 * `flag: '--max-queu'` or `env: 'CASK_MAXQUEUE'` does not compile.
 */
export type CheckedTable<T> = {
  readonly [K in keyof T]: K extends string
    ? T[K] & { readonly flag: FlagOf<K>; readonly env: EnvOf<K> }
    : never;
};

export type ValueOf<S> = S extends Setting<infer T> ? T : never;
