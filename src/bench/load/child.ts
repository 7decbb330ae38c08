// Entry point of a generator process. It is started pinned to the load CPUs (taskset) so
// that it never competes with the server for a core, receives jobs over the IPC channel
// and answers with their results. It exits when the orchestrator disconnects.
import { runLoad } from './run-load.js';
import type { LoadSpec } from './spec.js';

interface Job {
  id: number;
  spec: LoadSpec;
}

if (typeof process.send !== 'function') {
  console.error('Generator process needs an IPC channel: started without one');
  process.exit(2);
}

const jobs = new Map<number, AbortController>();

process.on('message', (msg: Job | { abort: number }) => {
  if ('abort' in msg) {
    jobs.get(msg.abort)?.abort();
    return;
  }
  const ac = new AbortController();
  jobs.set(msg.id, ac);
  runLoad(msg.spec, ac.signal)
    .then(
      (result) => process.send?.({ id: msg.id, result }),
      (err: unknown) =>
        process.send?.({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
    )
    .finally(() => jobs.delete(msg.id));
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
