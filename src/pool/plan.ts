// Private to src/pool: the supervisor's decisions as one pure function. A snapshot of the
// workers and of what is wanted goes in; the steps that bring the one to the other come out.
// No timers and no processes, so the rules read in one place and test as a table (signal
// handlers only enqueue; one reconcile loop compares wanted and actual).
//
// The rules, in order:
//
// 1. A generation is *pending* from the moment it is asked for (start-up, reload) until
//    `target` of its workers are ready. Then it is *committed*: it becomes the serving
//    generation and every worker of an older one is drained. Until then the old generation
//    serves alone, so a reload whose code cannot even be imported changes nothing.
// 2. While a generation is pending only it grows: a worker of the serving generation that
//    dies is not replaced (a replacement would import the new code anyway).
// 3. Otherwise the serving generation keeps `target` *keepers* (workers neither retiring
//    nor draining): missing ones are spawned, extra ones drained (one still starting is
//    killed first; else the one with the fewest requests in flight, the youngest of equals).
// 4. A *retiring* worker (max-requests, max-lifetime, max-rss) keeps serving until a fresh
//    keeper is ready to take its place: retiring workers are drained only while ready
//    keepers plus retiring workers exceed `target`. A replacement therefore always starts
//    before the worker it replaces stops taking requests.

export interface WorkerView {
  /** The worker's number (WorkerProcess.index). */
  readonly key: number;
  readonly generation: number;
  readonly state: 'starting' | 'ready' | 'stopping';
  readonly retiring: boolean;
  readonly inFlight: number;
  readonly startedAt: number;
}

export interface PlanInput {
  readonly target: number;
  /** The committed generation; 0 before the first one is ready. */
  readonly serving: number;
  /** A generation asked for and not committed yet. */
  readonly pending: number | undefined;
  readonly workers: readonly WorkerView[];
}

export type Step =
  | { readonly do: 'spawn'; readonly generation: number }
  | { readonly do: 'commit'; readonly generation: number }
  | { readonly do: 'drain'; readonly key: number; readonly why: string }
  | { readonly do: 'kill'; readonly key: number; readonly why: string };

/** Which of `workers` to let go when there are `count` too many: starting ones, then the least busy. */
function pickExtra(workers: readonly WorkerView[], count: number): WorkerView[] {
  const order = [...workers].sort(
    (a, b) =>
      Number(b.state === 'starting') - Number(a.state === 'starting') ||
      a.inFlight - b.inFlight ||
      b.startedAt - a.startedAt,
  );
  return order.slice(0, Math.max(0, count));
}

function letGo(worker: WorkerView, why: string): Step {
  return worker.state === 'starting'
    ? { do: 'kill', key: worker.key, why }
    : { do: 'drain', key: worker.key, why };
}

export function plan(input: PlanInput): Step[] {
  const { target, serving, pending } = input;
  const steps: Step[] = [];
  const live = input.workers.filter((w) => w.state !== 'stopping');

  if (pending !== undefined) {
    const mine = live.filter((w) => w.generation === pending);
    const ready = mine.filter((w) => w.state === 'ready');
    if (ready.length >= target) {
      steps.push({ do: 'commit', generation: pending });
      for (const w of live)
        if (w.generation !== pending) steps.push(letGo(w, `generation ${pending} took over`));
      for (const w of pickExtra(mine, mine.length - target))
        steps.push(letGo(w, 'fewer workers wanted'));
      return steps;
    }
    for (let n = mine.length; n < target; n++) steps.push({ do: 'spawn', generation: pending });
    for (const w of pickExtra(mine, mine.length - target))
      steps.push(letGo(w, 'fewer workers wanted'));
    return steps;
  }

  for (const w of live)
    if (w.generation !== serving) steps.push(letGo(w, `generation ${serving} serves`));
  const ours = live.filter((w) => w.generation === serving);
  const keepers = ours.filter((w) => !w.retiring);
  const retiring = ours.filter((w) => w.retiring).sort((a, b) => a.startedAt - b.startedAt);
  for (let n = keepers.length; n < target; n++) steps.push({ do: 'spawn', generation: serving });
  const extra = pickExtra(keepers, keepers.length - target);
  for (const w of extra) steps.push(letGo(w, 'fewer workers wanted'));
  const readyKeepers = keepers.filter((w) => w.state === 'ready' && !extra.includes(w)).length;
  let excess = readyKeepers + retiring.length - target;
  for (const w of retiring) {
    if (excess <= 0) break;
    steps.push(letGo(w, 'its replacement is ready'));
    excess--;
  }
  return steps;
}
