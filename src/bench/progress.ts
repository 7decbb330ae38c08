// The progress line: what runs now and how long is left. On a terminal it is one line
// rewritten every second; otherwise (CI logs, tests) a line per step.

function clock(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export class Progress {
  private readonly t0 = performance.now();
  private label = '';
  private doneEstimate = 0;
  private stepEstimate = 0;
  private stepStart = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly tty: boolean;

  constructor(
    private readonly totalEstimateS: number,
    private readonly out: NodeJS.WriteStream | null,
  ) {
    this.tty = out?.isTTY === true;
    if (this.tty) this.timer = setInterval(() => this.draw(), 1000);
    this.timer?.unref();
  }

  /** A new step starts; `estimateS` is how long it is expected to take. */
  step(label: string, estimateS: number): void {
    this.doneEstimate += this.stepEstimate;
    this.stepEstimate = estimateS;
    this.stepStart = performance.now();
    this.label = label;
    this.draw(!this.tty);
  }

  /** Seconds left: remaining estimate, scaled by how actual time compared so far. */
  remainingS(): number {
    const elapsed = (performance.now() - this.t0) / 1000;
    const inStep = Math.min((performance.now() - this.stepStart) / 1000, this.stepEstimate);
    const doneEst = this.doneEstimate + inStep;
    const ratio = doneEst > 5 ? Math.max(0.5, Math.min(2, elapsed / doneEst)) : 1;
    return Math.max(0, this.totalEstimateS - doneEst) * ratio;
  }

  line(): string {
    const elapsed = (performance.now() - this.t0) / 1000;
    return `${this.label}  [${clock(elapsed)} elapsed, ~${clock(this.remainingS())} left]`;
  }

  private draw(newline = false): void {
    if (this.out === null) return;
    if (this.tty) this.out.write(`\r\x1b[K${this.line()}`);
    else if (newline) this.out.write(`${this.line()}\n`);
  }

  /** Print a message above the progress line. */
  note(message: string): void {
    if (this.out === null) return;
    if (this.tty) this.out.write(`\r\x1b[K${message}\n`);
    else this.out.write(`${message}\n`);
    this.draw();
  }

  end(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.tty && this.out !== null) this.out.write('\r\x1b[K');
  }
}
