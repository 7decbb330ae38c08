// Memory figures of a cell beyond the 10-per-second RSS samples: one reading of every server
// process's RSS and PSS in the middle of the measured window (PSS shares each page among the
// processes mapping it, so a front and its forked workers add up to what they really hold),
// and the descriptors the idle-10k scenario needs in the generator and the server.
import { ensureFdLimit } from './fd-limit.js';
import type { LoadSpec } from './load/spec.js';
import { memorySnapshot, type ProcMemory } from './sample.js';

/** When to read the processes' memory, in ms after the load starts: the middle of the
 * measured window. With wrk the warm-up is a separate wrk run of whole seconds. null: no
 * reading (an idle load's window starts only once its connections are open, which the
 * orchestrator does not see; its RSS samples cover the hold). */
export function snapshotAtMs(spec: LoadSpec, wrk: boolean): number | null {
  switch (spec.kind) {
    case 'closed': {
      const warmup =
        wrk && spec.warmupMs > 0 ? Math.max(1, Math.round(spec.warmupMs / 1000)) * 1000 : 0;
      return (wrk ? warmup : spec.warmupMs) + spec.durationMs / 2;
    }
    case 'slow':
      return spec.rampMs + spec.fast.durationMs / 2;
    case 'open':
      return spec.durationMs === undefined ? null : spec.durationMs / 2;
    case 'idle':
      return null;
    case 'ws':
      return spec.warmupMs + spec.durationMs / 2;
  }
}

/** Read the tree's memory `atMs` from now; `done()` cancels a reading not yet taken and
 * takes it then instead (a load that ended early), and returns it. */
export function scheduleSnapshot(
  root: number,
  atMs: number | null,
): { done(): { atMs: number; processes: ProcMemory[] } | null } {
  if (atMs === null || root <= 0) return { done: () => null };
  const t0 = performance.now();
  let taken: { atMs: number; processes: ProcMemory[] } | null = null;
  const take = (): void => {
    taken = { atMs: Math.round(performance.now() - t0), processes: memorySnapshot(root) };
  };
  const timer = setTimeout(take, atMs);
  return {
    done: () => {
      clearTimeout(timer);
      if (taken === null) take();
      return taken;
    },
  };
}

/** Descriptors an idle load of `connections` needs in one process, with room for the rest. */
export function idleFdNeed(connections: number): number {
  return connections + 256;
}

/** Give the generator processes and the server's first process the descriptors an idle load
 * needs (Python servers keep the limit they inherited); throws when the generator cannot
 * get them, since the run would then measure the generator's limit. */
export function prepareIdle(
  spec: Extract<LoadSpec, { kind: 'idle' }>,
  serverPid: number,
  generatorPids: readonly number[],
): void {
  const need = idleFdNeed(spec.connections);
  for (const pid of generatorPids) {
    const got = ensureFdLimit(pid, need);
    if (Number.isFinite(got) && got < need)
      throw new Error(
        `The load generator may open only ${got} files, ${need} needed for ${spec.connections} connections (raise the hard limit: ulimit -Hn)`,
      );
  }
  if (serverPid > 0) ensureFdLimit(serverPid, need);
}
