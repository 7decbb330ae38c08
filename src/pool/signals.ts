// Signals only enqueue (as gunicorn's arbiter does): a handler records what was asked
// and wakes the control loop (src/control.ts), which does the work between events, never
// inside a handler.
//
//   SIGTERM, SIGINT   graceful stop; a second one stops at once (exit 128 + signal)
//   SIGQUIT           stop at once
//   SIGHUP            reload: a new generation of workers, then the old one drained
//   SIGTTIN, SIGTTOU  one worker more, one fewer
//   SIGUSR1           reopen the log files (after logrotate moved them)
//   SIGUSR2           upgrade: a new Cask process takes over the listeners, this one drains
//
// Node starts its inspector on SIGUSR1 only while nothing listens for that signal; with this
// queue installed, SIGUSR1 reopens the logs instead (use `node --inspect` to debug).

export type ControlAction = 'stop' | 'quit' | 'reload' | 'more' | 'fewer' | 'reopen' | 'upgrade';

export const SIGNAL_ACTIONS: Readonly<Record<string, ControlAction>> = {
  SIGTERM: 'stop',
  SIGINT: 'stop',
  SIGQUIT: 'quit',
  SIGHUP: 'reload',
  SIGTTIN: 'more',
  SIGTTOU: 'fewer',
  SIGUSR1: 'reopen',
  // Node's default for SIGUSR2 is to die (exit 140) without a word; with this, never.
  SIGUSR2: 'upgrade',
};

/** The exit status of a process ended by a signal, as a shell reports it. */
export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGINT: 2,
  SIGQUIT: 3,
  SIGTERM: 15,
};

export interface ControlEvent {
  readonly signal: NodeJS.Signals;
  readonly action: ControlAction;
}

export class SignalQueue {
  private readonly pending: ControlEvent[] = [];
  /** The one promise every caller of next() gets while nothing is pending, and its resolver. */
  private waiting: Promise<ControlEvent> | undefined;
  private wake: ((event: ControlEvent) => void) | undefined;
  private readonly installed: NodeJS.Signals[] = [];
  private readonly handler = (signal: NodeJS.Signals): void => {
    const action = SIGNAL_ACTIONS[signal];
    if (action !== undefined) this.push({ signal, action });
  };

  install(): void {
    for (const signal of Object.keys(SIGNAL_ACTIONS) as NodeJS.Signals[]) {
      try {
        process.on(signal, this.handler);
        this.installed.push(signal);
      } catch {
        // A signal this platform does not have (Windows): nothing to listen for.
      }
    }
  }

  uninstall(): void {
    for (const signal of this.installed.splice(0)) process.off(signal, this.handler);
  }

  push(event: ControlEvent): void {
    const wake = this.wake;
    if (wake === undefined) {
      this.pending.push(event);
      return;
    }
    this.wake = undefined;
    this.waiting = undefined;
    wake(event);
  }

  /**
   * The next event, in the order they came. Callers that race it against something else
   * and lose share the same promise with the next caller, so no event is ever lost.
   */
  next(): Promise<ControlEvent> {
    const event = this.pending.shift();
    if (event !== undefined) return Promise.resolve(event);
    this.waiting ??= new Promise((resolve) => (this.wake = resolve));
    return this.waiting;
  }
}
