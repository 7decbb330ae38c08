// argv + env + config file + defaults -> one validated, deeply frozen Config.
//
// Precedence, highest first: flags > CASK_* env vars > GUNICORN_CMD_ARGS > a gunicorn config
// file > cask.toml (or pyproject.toml) > defaults. Every value that
// is given is validated, even one a higher source overrides: a bad CASK_TIMEOUT is a bug
// waiting for the day the flag is dropped. Unknown flags, CASK_* variables and file keys are
// errors, with a "did you mean" where one is close.

import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { readArgv } from './argv.js';
import { fileDir, findConfigFile, type ConfigFile } from './file.js';
import type { Note } from './foreign.js';
import { readUwsgiIni } from './uwsgi.js';
import {
  defaultGunicornFile,
  gunicornCmdArgs,
  isGunicornLocation,
  readGunicornFile,
} from './gunicorn-file.js';
import {
  DEV_DEFAULTS,
  INTERNAL_ENV_PREFIXES,
  PACKAGE_ROOT,
  RENAMED,
  SETTINGS,
  SETTING_KEYS,
  type Config,
  type SettingKey,
} from './schema.js';
import { closest } from './suggest.js';
import { InvalidValue, type AnySetting, type DefaultContext, type ValueContext } from './types.js';

export interface LoadOptions {
  /** Arguments after `cask serve`. Default: none. */
  readonly argv?: readonly string[];
  /** Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where relative paths and `./cask.toml` are looked up. Default: `process.cwd()`. */
  readonly cwd?: string;
  /** Where the bundled example app lives. Default: this package's root. */
  readonly packageRoot?: string;
  /** `dev` starts from DEV_DEFAULTS where the table's defaults are for production. */
  readonly profile?: 'serve' | 'dev';
}

/** The value as the user wrote it, for the message: `"abc"`, `-1`, `["a", 1]`. */
function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Runs one parser and turns its InvalidValue into the user-facing message. */
function parseFrom<T>(label: string, raw: unknown, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    throw new ConfigError(`Invalid value for ${label}: ${show(err.value ?? raw)} ${err.reason}`);
  }
}

const ENV_INDEX = new Map<string, SettingKey>(SETTING_KEYS.map((k) => [SETTINGS[k].env, k]));
const FILE_INDEX = new Map<string, SettingKey>(
  SETTING_KEYS.map((k) => [SETTINGS[k].flag.slice(2), k]),
);

function checkEnvNames(env: Readonly<Record<string, string | undefined>>): void {
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('CASK_') || env[name] === undefined) continue;
    if (ENV_INDEX.has(name) || INTERNAL_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    const strip = (s: string): string => s.slice('CASK_'.length);
    const renamed = Object.fromEntries(
      Object.entries(RENAMED).map(([old, key]) => [old, strip(SETTINGS[key].env)]),
    );
    const guess = closest(strip(name), [...ENV_INDEX.keys()].map(strip), renamed);
    throw new ConfigError(
      `Unknown environment variable: ${name}${guess === undefined ? '' : ` (did you mean CASK_${guess}?)`}`,
    );
  }
}

function checkFileKeys(file: ConfigFile): void {
  for (const name of Object.keys(file.table)) {
    const key = FILE_INDEX.get(name);
    if (key === undefined) {
      const fileKeys = [...FILE_INDEX].filter(([, k]) => SETTINGS[k].inFile).map(([n]) => n);
      const renamed = Object.fromEntries(
        Object.entries(RENAMED).map(([old, k]) => [old, SETTINGS[k].flag.slice(2)]),
      );
      const guess = closest(name, fileKeys, renamed);
      throw new ConfigError(
        `Unknown key in ${file.label}: "${name}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`,
      );
    }
    if (!SETTINGS[key].inFile) {
      throw new ConfigError(
        `Key not allowed in ${file.label}: "${name}" (use ${SETTINGS[key].flag} or ${SETTINGS[key].env})`,
      );
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** What loading found besides the settings: warnings and facts for the log. */
export interface LoadResult {
  readonly config: Config;
  /** Settings of another server that were ignored, files read: for the error log at start. */
  readonly notes: readonly Note[];
}

/**
 * Builds the Config for `cask serve`. Throws ConfigError, whose message names the option, where
 * it came from and the bad value: `Invalid value for --workers: "abc" is not an integer`.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  return loadConfigWithNotes(options).config;
}

/** One source's value for a setting, parsed on demand (so that every source is validated). */
type Candidate = () => unknown;

/**
 * loadConfig(), with the notes gathered on the way: gunicorn, uWSGI and waitress settings that
 * are ignored (each with why) and the foreign config files that were read.
 */
export function loadConfigWithNotes(options: LoadOptions = {}): LoadResult {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const here: ValueContext = { baseDir: cwd };
  const packageRoot = options.packageRoot ?? PACKAGE_ROOT;
  const defaults: DefaultContext = { env, cwd, packageRoot };
  const notes: Note[] = [];

  const argv = readArgv(options.argv ?? [], notes, cwd);
  checkEnvNames(env);
  // gunicorn reads flags from GUNICORN_CMD_ARGS, below the command line and above its file.
  const cmdArgs = gunicornCmdArgs(env, notes, cwd);

  // The file to read comes from the sources above it; it cannot name itself.
  const configSetting: AnySetting = SETTINGS.config;
  const configArg = argv.get('config') ?? cmdArgs.get('config');
  const configEnv = env[configSetting.env];
  let explicit: string | null = null;
  const rawExplicit =
    argv.has('config') || (configEnv === undefined && configArg !== undefined)
      ? configArg?.values.at(-1)
      : configEnv;
  if (rawExplicit?.startsWith('python:') === true) {
    // gunicorn's `-c python:MODULE` names a module, not a path.
    explicit = rawExplicit;
  } else if (argv.has('config') || (configEnv === undefined && configArg !== undefined)) {
    const arg = configArg as { label: string; values: string[] };
    explicit = parseFrom(arg.label, arg.values.at(-1), () =>
      configSetting.fromArgv(arg.values, here),
    ) as string;
  } else if (configEnv !== undefined) {
    explicit = parseFrom(configSetting.env, configEnv, () =>
      configSetting.fromEnv(configEnv, here),
    ) as string;
  }
  if (rawExplicit?.startsWith('file:') === true && explicit !== null) {
    explicit = `file:${resolve(cwd, rawExplicit.slice('file:'.length))}`;
  }
  // A named file is the one file read; without one, ./gunicorn.conf.py (as gunicorn reads it)
  // and ./cask.toml or pyproject.toml are both read when present.
  const gunicornNamed = explicit !== null && isGunicornLocation(explicit);
  const file = gunicornNamed ? null : findConfigFile(explicit, cwd);
  if (file !== null) checkFileKeys(file);
  const fromFile: ValueContext = { baseDir: file === null ? cwd : fileDir(file) };
  // `--uwsgi-ini FILE`: a uWSGI file read in place of ./gunicorn.conf.py.
  const uwsgiSetting: AnySetting = SETTINGS.uwsgiIni;
  const uwsgiArg = argv.get('uwsgiIni');
  const uwsgiEnv = env[uwsgiSetting.env];
  const uwsgiLocation =
    uwsgiArg !== undefined
      ? (parseFrom(uwsgiArg.label, uwsgiArg.values.at(-1), () =>
          uwsgiSetting.fromArgv(uwsgiArg.values, here),
        ) as string)
      : uwsgiEnv !== undefined
        ? (parseFrom(uwsgiSetting.env, uwsgiEnv, () =>
            uwsgiSetting.fromEnv(uwsgiEnv, here),
          ) as string)
        : null;
  const gunicornLocation = gunicornNamed
    ? explicit
    : explicit === null && uwsgiLocation === null
      ? defaultGunicornFile(cwd)
      : null;

  const sources: ((key: SettingKey, setting: AnySetting) => Candidate | undefined)[] = [
    (key, setting) => {
      const arg = argv.get(key);
      if (arg === undefined) return undefined;
      const raw = setting.multiple ? arg.values : arg.values.at(-1);
      return () => parseFrom(arg.label, raw, () => setting.fromArgv(arg.values, here));
    },
    (_key, setting) => {
      const envRaw = env[setting.env];
      if (envRaw === undefined) return undefined;
      return () => parseFrom(setting.env, envRaw, () => setting.fromEnv(envRaw, here));
    },
    (key, setting) => {
      const arg = cmdArgs.get(key);
      if (arg === undefined) return undefined;
      const raw = setting.multiple ? arg.values : arg.values.at(-1);
      return () => parseFrom(arg.label, raw, () => setting.fromArgv(arg.values, here));
    },
    (_key, setting) => {
      const fileKey = setting.flag.slice(2);
      if (file === null || !Object.hasOwn(file.table, fileKey)) return undefined;
      const raw = file.table[fileKey];
      const label = `${fileKey} in ${file.label}`;
      return () => parseFrom(label, raw, () => setting.fromToml(raw, fromFile));
    },
  ];
  const fallbackValue = (key: SettingKey, setting: AnySetting): unknown => {
    const profiled = options.profile === 'dev' ? DEV_DEFAULTS.get(key) : undefined;
    if (profiled !== undefined) return profiled.value;
    // gunicorn reads WEB_CONCURRENCY as the default for workers, below the config file.
    const fallback = setting.fallbackEnv === undefined ? undefined : env[setting.fallbackEnv];
    if (setting.fallbackEnv !== undefined && fallback !== undefined && fallback !== '') {
      return parseFrom(setting.fallbackEnv, fallback, () => setting.fromEnv(fallback, here));
    }
    return setting.defaultValue(defaults);
  };

  if (gunicornLocation !== null) {
    // The interpreter and directory the file runs with come from every other source.
    const early = (key: 'python' | 'chdir'): string => {
      const setting: AnySetting = SETTINGS[key];
      const first = sources.map((source) => source(key, setting)).find((c) => c !== undefined);
      return (first === undefined ? fallbackValue(key, setting) : first()) as string;
    };
    const chdir = early('chdir');
    const gunicorn = readGunicornFile(
      gunicornLocation,
      { python: early('python'), chdir, packageRoot },
      notes,
    );
    const fromGunicorn: ValueContext = { baseDir: chdir };
    // Between the environment (and GUNICORN_CMD_ARGS) and cask.toml.
    sources.splice(3, 0, (key, setting) => {
      const given = gunicorn.values.get(key);
      if (given === undefined) return undefined;
      return () =>
        parseFrom(given.label, given.raw, () => setting.fromToml(given.raw, fromGunicorn));
    });
  }
  if (uwsgiLocation !== null) {
    const uwsgi = readUwsgiIni(uwsgiLocation, cwd, env, notes);
    const fromUwsgi: ValueContext = { baseDir: uwsgi.baseDir };
    sources.splice(3, 0, (key, setting) => {
      const given = uwsgi.values.get(key);
      if (given === undefined) return undefined;
      return () => parseFrom(given.label, given.raw, () => setting.fromToml(given.raw, fromUwsgi));
    });
  }

  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const setting: AnySetting = SETTINGS[key];
    const candidates = sources
      .map((source) => source(key, setting))
      .filter((c): c is Candidate => c !== undefined);
    // Validate every source given, then keep the highest.
    const values = candidates.map((parse) => parse());
    out[key] = values.length > 0 ? values[0] : fallbackValue(key, setting);
  }
  out['config'] =
    file !== null
      ? file.path
      : gunicornLocation === null
        ? null
        : resolveLocation(gunicornLocation, cwd);
  return { config: deepFreeze(out as Config), notes };
}

/** A gunicorn location as an absolute path (`python:MODULE` stays as it is). */
function resolveLocation(location: string, cwd: string): string {
  if (location.startsWith('python:')) return location;
  return resolve(cwd, location.replace(/^file:/, ''));
}
