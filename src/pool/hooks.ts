// The front's side of the hook process (python/cask_worker/hookhost.py). gunicorn runs some
// hooks in its master; Cask's front is Node, so those run in one long-lived Python child
// that keeps the module's state from one hook to the next. The worker-side hooks (post_fork,
// pre_request, …) run in the workers themselves (python/cask_worker/hooks.py).
//
// Channel: JSON lines on the child's file descriptor 3 (see hookhost.py). One call at a
// time, each bounded by CALL_TIMEOUT_MS: a hook that hangs is logged and given up on, so it
// can never hold a reload or a shutdown.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { CaskError } from '../errors.js';
import type { Logger } from '../log.js';
import { onLines, pythonEnv, spawnFailure } from './worker.js';

export const MASTER_HOOKS = [
  'on_starting',
  'when_ready',
  'on_reload',
  'child_exit',
  'nworkers_changed',
  'on_exit',
  'pre_exec',
] as const;
export type MasterHook = (typeof MASTER_HOOKS)[number];

const CALL_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;

export interface HookHostOptions {
  readonly python: string;
  readonly hooks: string;
  readonly pythonpath: readonly string[];
  readonly chdir: string | undefined;
}

/** What the hook gets as `server` (hooks.py Server): gunicorn's Arbiter attributes that apply. */
export interface HookServer {
  readonly pid: number;
  readonly address: readonly string[];
  readonly num_workers: number;
  readonly cfg: Readonly<Record<string, unknown>>;
}

export interface HookResult {
  readonly ok: boolean;
  readonly error?: string;
  /** Environment variables the hook set (null: removed). */
  readonly env?: Readonly<Record<string, string | null>>;
}

interface Message {
  ready?: string[];
  error?: string;
  log?: number;
  text?: string;
  done?: string;
  ok?: boolean;
  env?: Record<string, string | null>;
}

export class HookHost {
  /** The master-side hooks the module defines. */
  readonly defined = new Set<string>();
  private child: ChildProcess | undefined;
  private channel: Socket | undefined;
  private waiting: ((message: Message | undefined) => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private exited = false;
  /** Why the hook process could not be started at all. */
  private startError: Error | undefined;

  private constructor(private readonly logger: Logger) {}

  /** Starts the process and imports the module; throws CASK_HOOK_FAILED if it cannot. */
  static async start(options: HookHostOptions, logger: Logger): Promise<HookHost> {
    const host = new HookHost(logger);
    const hello = await host.launch(options);
    if (hello?.ready === undefined) {
      host.close();
      const why =
        hello?.error ??
        (host.startError === undefined
          ? `the hook process exited before it was ready (${options.python})`
          : `Cannot run ${options.python}: ${host.startError.message}`);
      throw new CaskError('CASK_HOOK_FAILED', why);
    }
    for (const name of hello.ready) host.defined.add(name);
    // Nothing to run here (only worker-side hooks): do not keep a Python process for it.
    if (host.defined.size === 0) host.close();
    return host;
  }

  has(name: MasterHook): boolean {
    return this.defined.has(name);
  }

  /** Runs one hook; resolves (never rejects) once it returned, raised or timed out. */
  call(name: MasterHook, server: HookServer, args: readonly unknown[] = []): Promise<HookResult> {
    if (!this.has(name)) return Promise.resolve({ ok: true });
    const result = this.chain.then(() => this.send(name, server, args));
    this.chain = result;
    return result;
  }

  close(): void {
    this.channel?.destroy();
    this.child?.stdin?.destroy();
    this.defined.clear();
  }

  private launch(options: HookHostOptions): Promise<Message | undefined> {
    const args = ['-m', 'cask_worker.hookhost', '--hooks', options.hooks];
    for (const dir of options.pythonpath) args.push('--pythonpath', dir);
    if (options.chdir) args.push('--chdir', options.chdir);
    let child: ChildProcess;
    try {
      child = spawn(options.python, args, {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        env: pythonEnv(),
        cwd: options.chdir ?? process.cwd(),
      });
    } catch (error) {
      // spawn() throws for some failures (ENOTDIR on the interpreter's path) and reports the
      // others as 'error': both are a hook process that could not be started.
      this.startError = spawnFailure(error, options.python);
      this.exited = true;
      return Promise.resolve(undefined);
    }
    this.child = child;
    const gone = (): void => {
      this.exited = true;
      this.defined.clear();
      this.deliver(undefined);
    };
    child.on('exit', gone);
    child.on('error', (error: Error) => {
      if (child.pid === undefined) this.startError = error;
      gone();
    });
    // Not started (EMFILE leaves it without pipes): its 'error' comes on the next tick.
    if (child.pid === undefined) return this.next(START_TIMEOUT_MS);
    onLines(child.stdout, (line) => this.logger.raw('hooks stdout', line));
    onLines(child.stderr, (line) => this.logger.raw('hooks stderr', line));
    const channel = child.stdio[3] as Socket;
    this.channel = channel;
    channel.on('error', () => {});
    // One JSON message a line, which must arrive whole (a hook's log line or traceback can
    // be long): no limit on its length, as for the server's configuration itself.
    onLines(channel, (line) => this.receive(line), Infinity);
    return this.next(START_TIMEOUT_MS);
  }

  private async send(
    name: MasterHook,
    server: HookServer,
    args: readonly unknown[],
  ): Promise<HookResult> {
    if (this.exited || this.channel === undefined)
      return { ok: false, error: 'the hook process is gone' };
    this.channel.write(`${JSON.stringify({ call: name, server, args })}\n`);
    const reply = await this.next(CALL_TIMEOUT_MS);
    if (reply === undefined) {
      const error = this.exited
        ? 'the hook process exited'
        : `no answer within ${CALL_TIMEOUT_MS / 1000} s`;
      this.logger.error(`Hook ${name} failed: ${error}`, 'hooks');
      return { ok: false, error };
    }
    if (reply.ok !== true) this.logger.error(`Hook ${name} failed:\n${reply.error ?? ''}`, 'hooks');
    return {
      ok: reply.ok === true,
      ...(reply.error === undefined ? {} : { error: reply.error }),
      ...(reply.env === undefined ? {} : { env: reply.env }),
    };
  }

  /** The next ready/error/done message, or undefined on exit or after `ms`. */
  private next(ms: number): Promise<Message | undefined> {
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.deliver(undefined), ms);
      timer.unref();
      this.waiting = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }

  private deliver(message: Message | undefined): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(message);
  }

  private receive(line: string): void {
    let message: Message;
    try {
      message = JSON.parse(line) as Message;
    } catch {
      this.logger.warn(`Unreadable line from the hook process: ${line.slice(0, 200)}`, 'hooks');
      return;
    }
    if (message.log !== undefined) {
      this.logger.log(message.log, message.text ?? '', 'hooks');
      return;
    }
    this.deliver(message);
  }
}
