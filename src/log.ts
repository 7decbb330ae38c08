// Error log (levelled, human lines) and access log (Apache formats). Both write through one
// stream each; the access log is the only thing on the request path, so its line is built
// with plain concatenation and written without waiting. No write that fails, to a file or to
// stdout or stderr, may take the front down: its lines are dropped instead.

import { closeSync, constants, createWriteStream, fstatSync, openSync, type WriteStream } from 'node:fs';
import { ConfigError } from './errors.js';
import { compileAccessFormat, jsonErrorLine, type AccessFormatter, type AccessRecord } from './log-format.js';

export type { AccessRecord } from './log-format.js';

export const LEVELS = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 } as const;
export type LevelName = keyof typeof LEVELS;

function levelName(level: number): string {
  if (level >= 50) return 'CRITICAL';
  if (level >= 40) return 'ERROR';
  if (level >= 30) return 'WARNING';
  if (level >= 20) return 'INFO';
  return 'DEBUG';
}

/** Where a log's lines go: a file's stream, or a StdioSink. */
interface Sink {
  write(text: string): unknown;
}

/**
 * The process's stdout or stderr as a log's target (`-`). A write there fails as a file's
 * can: the reader of a pipe went away (EPIPE, told as an 'error' event), or the disk under a
 * redirect is full (ENOSPC, thrown by the synchronous stream Node uses for a file). The
 * failure is said once on stderr, unless stderr is the one that failed, and the lines are
 * dropped from then on: a stream whose write threw would keep that line, and every later one,
 * in memory, and one that told an error is closed. One sink per stream, shared by every log
 * that writes there, so the stream gets one 'error' listener.
 */
class StdioSink implements Sink {
  private broken = false;

  constructor(
    readonly stream: NodeJS.WriteStream,
    /** How the failure names it, e.g. `--access-log - (stdout)`. */
    private readonly what: string,
  ) {
    stream.on('error', (error) => this.fail(error));
  }

  write(text: string): void {
    if (this.broken) return;
    try {
      this.stream.write(text);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    if (this !== stdioSinks.stderr)
      say(`Cannot write ${this.what}: ${error.message}; its lines are dropped from now on`);
  }
}

const stdioSinks: { stdout?: StdioSink; stderr?: StdioSink } = {};

function stdio(name: 'stdout' | 'stderr'): StdioSink {
  const what = name === 'stdout' ? '--access-log - (stdout)' : '--error-log - (stderr)';
  return (stdioSinks[name] ??= new StdioSink(process[name], what));
}

/** A message of the logs about themselves, on stderr as `cask: …` (dropped if it is broken). */
function say(message: string): void {
  stdio('stderr').write(`cask: ${message}\n`);
}

/**
 * The sink a log writes to: stdout or stderr (`fallback`) for `-`, else the file `target`
 * opened for appending. It is opened at once, so a path that cannot be written stops the
 * start with a message that names it (ConfigError, exit 2) instead of an unhandled stream
 * error once serving. A write that fails later (a full disk) is said once on the process's
 * stderr; the stream is then closed and its lines are dropped until SIGUSR1 opens the file
 * again. `what` names the setting, e.g. `--access-log`.
 */
function openStream(target: string, fallback: 'stdout' | 'stderr', what: string): Sink {
  if (target === '-' || target === '') return stdio(fallback);
  let fd: number;
  try {
    fd = openLogFile(target);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENXIO'
        ? 'it is a FIFO that no process is reading'
        : (error as Error).message;
    throw new ConfigError(`Cannot open ${what} ${target}: ${reason}`);
  }
  const stream = createWriteStream(target, { fd });
  stream.on('error', (error) => {
    say(
      `Cannot write ${what} ${target}: ${error.message}; its lines are dropped until SIGUSR1 opens it again`,
    );
  });
  return stream;
}

/**
 * Opens a log file for appending without ever waiting. A plain open of a FIFO waits for a
 * reader, and the front's whole event loop with it (at start, or on SIGUSR1 after the reader
 * left); opened with O_NONBLOCK, a FIFO without a reader fails at once with ENXIO instead. A
 * regular file keeps that descriptor (the flag changes nothing for it). Anything else (a FIFO
 * with its reader, a terminal, /dev/stdout) is opened again in the usual blocking mode, which
 * returns at once now that a reader is there, so that a full pipe slows the writes down
 * instead of failing them.
 */
function openLogFile(target: string): number {
  const probe = openSync(
    target,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK,
    0o666,
  );
  if (fstatSync(probe).isFile()) return probe;
  try {
    return openSync(target, 'a');
  } finally {
    closeSync(probe);
  }
}

/** SIGUSR1: the file opened again by name; the old stream if that fails (said on stderr). */
function reopenStream(
  old: Sink,
  target: string,
  fallback: 'stdout' | 'stderr',
  what: string,
): Sink {
  try {
    return openStream(target, fallback, what);
  } catch (error) {
    say(`${(error as Error).message}; still writing where it was`);
    return old;
  }
}

/** Closes a stream that `openStream` opened on a file (never stdout or stderr). */
function closeStream(out: Sink): Promise<void> {
  if (out instanceof StdioSink) return Promise.resolve();
  return new Promise((resolve) => (out as WriteStream).end(resolve));
}

export class Logger {
  /**
   * Lines asked for at warning, error and critical, whatever the level shown (gunicorn's
   * StatsD logger counts them the same way): `gunicorn.log.*` for StatsD.
   */
  readonly counts = [0, 0, 0];
  private readonly threshold: number;
  private out: Sink;

  constructor(
    level: LevelName = 'info',
    private readonly target = '-',
    /** `--log-json`: one JSON object per line instead of the bracketed text. */
    private readonly json = false,
    /** Who speaks when a line names no one else: `cask`, or `front 2` of `--fronts N`. */
    private readonly name = 'cask',
  ) {
    this.threshold = LEVELS[level];
    this.out = openStream(target, 'stderr', '--error-log');
  }

  /** SIGUSR1: open the file again by name (logrotate moved the old one away). */
  reopen(): Promise<void> {
    const old = this.out;
    this.out = reopenStream(old, this.target, 'stderr', '--error-log');
    return this.out === old ? Promise.resolve() : closeStream(old);
  }

  enabled(level: number): boolean {
    return level >= this.threshold;
  }

  log(level: number, message: string, tag = this.name): void {
    if (level >= 30) {
      const at = level >= 50 ? 2 : level >= 40 ? 1 : 0;
      this.counts[at] = (this.counts[at] as number) + 1;
    }
    if (level < this.threshold) return;
    const stamp = new Date().toISOString();
    if (this.json) this.out.write(`${jsonErrorLine(stamp, tag, levelName(level), message)}\n`);
    else this.out.write(`[${stamp}] [${tag}] [${levelName(level)}] ${message}\n`);
  }

  /** What an app printed: shown whatever the level, as gunicorn shows a worker's output. */
  raw(tag: string, line: string): void {
    const stamp = new Date().toISOString();
    if (this.json) this.out.write(`${jsonErrorLine(stamp, tag, 'OUTPUT', line)}\n`);
    else this.out.write(`[${stamp}] [${tag}] ${line}\n`);
  }

  debug(message: string, tag?: string): void {
    this.log(LEVELS.debug, message, tag);
  }
  info(message: string, tag?: string): void {
    this.log(LEVELS.info, message, tag);
  }
  warn(message: string, tag?: string): void {
    this.log(LEVELS.warning, message, tag);
  }
  error(message: string, tag?: string): void {
    this.log(LEVELS.error, message, tag);
  }

  close(): Promise<void> {
    return closeStream(this.out);
  }
}


const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `[10/Oct/2000:13:55:36 +0000]`, always in UTC so lines sort and compare across hosts. */
export function clfTime(date: Date): string {
  return `[${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000]`;
}

function quoted(value: string): string {
  // Request data is attacker-controlled: escape quotes, backslashes and controls so one
  // request cannot forge extra log lines or fields.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\\"\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A named format, or a gunicorn `%(atom)s` format (src/log-format.ts), or `json`. */
export type AccessFormat = 'combined' | 'common' | 'dev' | (string & {});

const STATUS_COLORS: Readonly<Record<number, string>> = { 2: '32', 3: '36', 4: '33', 5: '31' };

function size(bytes: number): string {
  if (bytes <= 0) return '-';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The `dev` format, for a terminal: `14:03:27 200 GET /path 1.2 KB`. With `color`, the status
 * is green, cyan, yellow or red by its class and the time is dim (ANSI SGR codes).
 */
export function formatDevAccess(record: AccessRecord, now = new Date(), color = false): string {
  const time = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  const status = String(record.status);
  const code = STATUS_COLORS[Math.floor(record.status / 100)];
  const paint = (sgr: string | undefined, text: string): string =>
    color && sgr !== undefined ? `\x1b[${sgr}m${text}\x1b[0m` : text;
  return `${paint('2', time)} ${paint(code, status)} ${quoted(record.method)} ${quoted(record.target)} ${size(record.bytes)}`;
}

/** Colors on a terminal, unless NO_COLOR is set (no-color.org); FORCE_COLOR forces them. */
export function wantsColor(out: NodeJS.WritableStream, env = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return (out as { isTTY?: boolean }).isTTY === true;
}

export function formatAccess(record: AccessRecord, format: AccessFormat, now = new Date()): string {
  if (format === 'dev') return formatDevAccess(record, now);
  const bytes = record.bytes > 0 ? String(record.bytes) : '-';
  const line =
    `${record.remoteAddr} - - ${clfTime(now)} "${quoted(record.method)} ${quoted(record.target)} ` +
    `${record.protocol}" ${record.status} ${bytes}`;
  if (format === 'common') return line;
  return `${line} "${quoted(record.referer || '-')}" "${quoted(record.userAgent || '-')}"`;
}

export class AccessLog {
  private out: Sink;
  private readonly color: boolean;

  constructor(
    private readonly target: string,
    private readonly format: AccessFormat,
  ) {
    this.out = openStream(target, 'stdout', '--access-log');
    const stream = this.out instanceof StdioSink ? this.out.stream : (this.out as WriteStream);
    this.color = format === 'dev' && wantsColor(stream);
    // Compiled once: a bad atom fails at start-up, and a line is a loop of concatenations.
    this.formatter = format === 'dev' ? undefined : compileAccessFormat(format);
  }

  private readonly formatter: AccessFormatter | undefined;

  /** SIGUSR1: open the file again by name. */
  reopen(): Promise<void> {
    const old = this.out;
    this.out = reopenStream(old, this.target, 'stdout', '--access-log');
    return this.out === old ? Promise.resolve() : closeStream(old);
  }

  write(record: AccessRecord): void {
    const line =
      this.format === 'dev'
        ? formatDevAccess(record, new Date(), this.color)
        : (this.formatter as AccessFormatter)(record, new Date());
    this.out.write(line + '\n');
  }

  close(): Promise<void> {
    return closeStream(this.out);
  }
}
