// Runs one load spec in this process. The orchestrator normally calls it through a pinned
// generator process (generator.ts); tests call it directly.
import { runClosed } from './closed.js';
import { runIdle } from './idle.js';
import { runOpen } from './open.js';
import { runSlow } from './slow-client.js';
import type { LoadResult, LoadSpec } from './spec.js';
import { runWs } from './ws.js';

export function runLoad(spec: LoadSpec, signal?: AbortSignal): Promise<LoadResult> {
  switch (spec.kind) {
    case 'closed':
      return runClosed(spec, signal);
    case 'open':
      return runOpen(spec, signal);
    case 'slow':
      return runSlow(spec, signal);
    case 'idle':
      return runIdle(spec, signal);
    case 'ws':
      return runWs(spec, signal);
  }
}
