// The `cask` command: argv -> subcommand -> exit code. bin/cask.js calls main() and uses the
// number it resolves to as the exit code.
//
// Exit codes: 0 ok, 1 failure (a part of Cask missing from this build), 2 usage or
// configuration error. `serve` and `bench` return their own codes.

import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  PACKAGE_ROOT,
  closest,
  loadConfigWithNotes,
  renderConfigToml,
  renderServeHelp,
  wantsHelp,
  type Config,
  type Note,
} from './config/index.js';
import { ConfigError } from './errors.js';
import { daemonize } from './process/daemon.js';
import { processOrigin } from './process/origin.js';
import { RELOAD_HELP, reloadCommand } from './reload.js';
import { STATUS_HELP, statusCommand, topCommand } from './admin/top.js';
import { VERSION } from './version.js';

/** What main() talks to; tests pass their own so they never print or start a server. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Loads `./serve.js` or `./bench/index.js`, relative to this module. */
  readonly importModule: (specifier: string) => Promise<unknown>;
}

/** The contracts of the two modules other parts of Cask provide. */
interface ServeModule {
  serve(config: Config, mode?: { dev?: boolean; notes?: readonly Note[] }): Promise<number>;
}
interface BenchModule {
  runBench(argv: string[]): Promise<number>;
}

const COMMANDS = ['serve', 'dev', 'reload', 'status', 'top', 'bench', 'help'] as const;

const TOP_HELP = `Usage: cask <command> [options]

An application server for Python WSGI apps.

Commands:
  serve [APP] [options]   Serve a WSGI app (cask serve --help lists every option)
  dev [APP] [options]     Serve it for development: reload on changes, error pages
  reload [--pid FILE]     Reload a running server's workers with fresh code (SIGHUP)
  status [--url URL]      Show a running server's workers, threads and queue (its /stats)
  top [--url URL]         The same, refreshed every second (like uwsgitop)
  bench [options]         Run the benchmark lab (cask bench --help)
  help [command]          Show help for a command

Options:
  -h, --help              Show this help
  -v, --version           Print the version
`;

/** A part of Cask this build lacks; reported in one line, exit 1. */
class Missing extends Error {}

function where(specifier: string): string {
  const path = fileURLToPath(new URL(specifier, import.meta.url));
  return relative(PACKAGE_ROOT, path);
}

/**
 * Imports a sibling module built by another part of Cask. Only the module itself being absent
 * becomes `Missing`: a missing import *inside* it is a real bug and keeps its stack.
 */
async function load(io: CliIo, specifier: string, command: string): Promise<unknown> {
  try {
    return await io.importModule(specifier);
  } catch (err) {
    const target = fileURLToPath(new URL(specifier, import.meta.url)).replace(/\.js$/, '');
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND' && String(message).includes(target)) {
      throw new Missing(
        `Cannot run ${command}: ${where(specifier)} is not in this build of Cask (run npm run build)`,
      );
    }
    throw err;
  }
}

function exported(mod: unknown, name: string, specifier: string, command: string): void {
  const value =
    typeof mod === 'object' && mod !== null ? (mod as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'function') {
    throw new Missing(`Cannot run ${command}: ${where(specifier)} does not export ${name}()`);
  }
}

async function serveCommand(
  args: string[],
  io: CliIo,
  command: 'serve' | 'dev' = 'serve',
): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(renderServeHelp(command));
    return 0;
  }
  const { config, notes } = loadConfigWithNotes({
    argv: args,
    env: io.env,
    cwd: io.cwd,
    profile: command,
  });
  if (config.printConfig) {
    // The settings go to stdout as TOML; what was ignored, and why, to stderr.
    for (const note of notes) if (note.level === 'warn') io.stderr.write(`cask: ${note.text}\n`);
    io.stdout.write(renderConfigToml(config));
    return 0;
  }
  if (config.daemon && processOrigin().startedBy !== 'daemon') {
    // This process only starts the server in the background and reports how that went.
    const result = await daemonize();
    io.stderr.write(
      result.code === 0
        ? `cask: serving in the background as process ${result.pid ?? '?'}\n`
        : `cask: the server in the background stopped before it was ready (${result.why ?? 'unknown'}); its error log says why\n`,
    );
    return result.code;
  }
  const mod = await load(io, './serve.js', 'serve');
  exported(mod, 'serve', './serve.js', 'serve');
  return (mod as ServeModule).serve(config, { dev: command === 'dev', notes });
}

async function benchCommand(args: string[], io: CliIo): Promise<number> {
  const mod = await load(io, './bench/index.js', 'bench');
  exported(mod, 'runBench', './bench/index.js', 'bench');
  return (mod as BenchModule).runBench(args);
}

function unknownCommand(arg: string): string {
  if (arg.startsWith('-')) {
    return `Unknown option: ${arg} (server options go after the command: cask serve ${arg} …)`;
  }
  if (arg.includes(':') || arg.endsWith('.py')) {
    return `Unknown command: ${arg} (did you mean cask serve ${arg}?)`;
  }
  const guess = closest(arg, COMMANDS);
  return `Unknown command: ${arg}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`;
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      io.stderr.write(TOP_HELP);
      return 2;
    case '-h':
    case '--help':
      io.stdout.write(TOP_HELP);
      return 0;
    case 'help':
      if (rest[0] === 'serve' || rest[0] === 'dev') io.stdout.write(renderServeHelp(rest[0]));
      else if (rest[0] === 'reload') io.stdout.write(RELOAD_HELP);
      else if (rest[0] === 'status' || rest[0] === 'top') io.stdout.write(STATUS_HELP);
      else if (rest[0] === 'bench') return benchCommand(['--help'], io);
      else if (rest[0] === undefined) io.stdout.write(TOP_HELP);
      else {
        io.stderr.write(`cask: ${unknownCommand(rest[0])}\n`);
        return 2;
      }
      return 0;
    case '-v':
    case '--version':
      io.stdout.write(`cask ${VERSION}\n`);
      return 0;
    case 'serve':
      return serveCommand(rest, io);
    case 'dev':
      return serveCommand(rest, io, 'dev');
    case 'reload':
      return reloadCommand(rest, io);
    case 'status':
      return statusCommand(rest, io);
    case 'top':
      return topCommand(rest, io);
    case 'bench':
      return benchCommand(rest, io);
    default:
      io.stderr.write(`cask: ${unknownCommand(command)}\nRun cask --help for usage.\n`);
      return 2;
  }
}

export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  // Before anything can fail: a Cask process that started this one (SIGUSR2, --daemon) left
  // an IPC channel and variables that are read once and must not keep this process alive.
  processOrigin();
  const full: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    // A variable specifier, so tsc does not need those modules to exist yet; their
    // contracts are ServeModule and BenchModule above.
    importModule: io.importModule ?? ((specifier) => import(specifier)),
  };
  try {
    return await dispatch(argv, full);
  } catch (err) {
    if (err instanceof ConfigError) {
      full.stderr.write(`cask: ${err.message}\n`);
      return 2;
    }
    if (err instanceof Missing) {
      full.stderr.write(`cask: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
