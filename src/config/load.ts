// argv + env + config file + defaults -> one validated, deeply frozen Config.
//
// Precedence, highest first: flags > CASK_* env vars > config file > defaults. Every value that
// is given is validated, even one a higher source overrides: a bad CASK_TIMEOUT is a bug
// waiting for the day the flag is dropped. Unknown flags, CASK_* variables and file keys are
// errors, with a "did you mean" where one is close.

import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { readArgv } from './argv.js';
import { fileDir, findConfigFile, type ConfigFile } from './file.js';
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

/**
 * Builds the Config for `cask serve`. Throws ConfigError, whose message names the option, where
 * it came from and the bad value: `Invalid value for --workers: "abc" is not an integer`.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const here: ValueContext = { baseDir: cwd };
  const defaults: DefaultContext = { env, cwd, packageRoot: options.packageRoot ?? PACKAGE_ROOT };

  const argv = readArgv(options.argv ?? []);
  checkEnvNames(env);

  // The file to read comes from the two sources above it; it cannot name itself.
  const configSetting: AnySetting = SETTINGS.config;
  const configArg = argv.get('config');
  const configEnv = env[configSetting.env];
  let explicit: string | null = null;
  if (configArg !== undefined) {
    explicit = parseFrom(configArg.label, configArg.values.at(-1), () =>
      configSetting.fromArgv(configArg.values, here),
    ) as string;
  } else if (configEnv !== undefined) {
    explicit = parseFrom(configSetting.env, configEnv, () =>
      configSetting.fromEnv(configEnv, here),
    ) as string;
  }
  const file = findConfigFile(explicit, cwd);
  if (file !== null) checkFileKeys(file);
  const fromFile: ValueContext = { baseDir: file === null ? cwd : fileDir(file) };

  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const setting: AnySetting = SETTINGS[key];
    const candidates: (() => unknown)[] = [];

    const arg = argv.get(key);
    if (arg !== undefined) {
      const raw = setting.multiple ? arg.values : arg.values.at(-1);
      candidates.push(() => parseFrom(arg.label, raw, () => setting.fromArgv(arg.values, here)));
    }
    const envRaw = env[setting.env];
    if (envRaw !== undefined) {
      candidates.push(() => parseFrom(setting.env, envRaw, () => setting.fromEnv(envRaw, here)));
    }
    const fileKey = setting.flag.slice(2);
    if (file !== null && Object.hasOwn(file.table, fileKey)) {
      const raw = file.table[fileKey];
      const label = `${fileKey} in ${file.label}`;
      candidates.push(() => parseFrom(label, raw, () => setting.fromToml(raw, fromFile)));
    }

    // Validate every source given, then keep the highest.
    const values = candidates.map((parse) => parse());
    if (values.length > 0) {
      out[key] = values[0];
      continue;
    }
    const profiled = options.profile === 'dev' ? DEV_DEFAULTS.get(key) : undefined;
    if (profiled !== undefined) {
      out[key] = profiled.value;
      continue;
    }
    // gunicorn reads WEB_CONCURRENCY as the default for workers, below the config file.
    const fallback = setting.fallbackEnv === undefined ? undefined : env[setting.fallbackEnv];
    if (setting.fallbackEnv !== undefined && fallback !== undefined && fallback !== '') {
      out[key] = parseFrom(setting.fallbackEnv, fallback, () => setting.fromEnv(fallback, here));
    } else {
      out[key] = setting.defaultValue(defaults);
    }
  }
  out['config'] = file === null ? null : file.path;
  return deepFreeze(out as Config);
}
