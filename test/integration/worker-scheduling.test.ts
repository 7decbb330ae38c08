// --worker-scheduling: the Python workers of a real server run under SCHED_BATCH by default,
// every thread of them (the policy is per thread in Linux), also when they are forked from the
// --preload zygote; `inherit` leaves them under the front's policy.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const SCHED_BATCH = 3;
const linux = existsSync('/proc/self/task');

/** The scheduling policy of each thread of `pid`: field 41 of /proc/PID/task/TID/stat. */
function threadPolicies(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[41 - 3]);
  });
}

async function workerPolicies(argv: string[]): Promise<{ front: number[]; worker: number[] }> {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '3',
    ...argv,
  ]);
  try {
    const pid = Number((await get(server.port, '/pid')).body.toString());
    assert.ok(pid > 0 && pid !== server.proc.pid);
    return { front: threadPolicies(server.proc.pid!), worker: threadPolicies(pid) };
  } finally {
    await server.stop();
  }
}

describe(
  'worker scheduling policy',
  { skip: linux ? false : 'SCHED_BATCH and /proc are Linux’s' },
  () => {
    test('by default every thread of a worker is SCHED_BATCH, and the front keeps its own policy', async () => {
      const { front, worker } = await workerPolicies([]);
      assert.ok(worker.length >= 5, `main, reader and three app threads: ${worker.length}`);
      assert.deepEqual(new Set(worker), new Set([SCHED_BATCH]));
      assert.ok(!front.includes(SCHED_BATCH), `front: ${front.join(',')}`);
    });

    test('workers forked from the --preload zygote are SCHED_BATCH too', async () => {
      const { worker } = await workerPolicies(['--preload']);
      assert.deepEqual(new Set(worker), new Set([SCHED_BATCH]));
    });

    test('--worker-scheduling inherit leaves the workers under the front’s policy', async () => {
      const { front, worker } = await workerPolicies(['--worker-scheduling', 'inherit']);
      assert.deepEqual(new Set(worker), new Set([front[0]]));
    });
  },
);
