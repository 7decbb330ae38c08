// --worker-scheduling: the Python workers of a real server run under SCHED_BATCH by default,
// every thread of them (the policy is per thread in Linux), also when they are forked from the
// --preload zygote; `inherit` leaves them under the front's policy.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { policyOf } from '../helpers/procfs.js';

const SCHED_BATCH = 3;
const linux = existsSync('/proc/self/task');

/**
 * The scheduling policy of each thread of `pid`. A thread may end between the listing and
 * the read (Node's and Python's helper threads come and go); it is left out.
 */
function threadPolicies(pid: number): number[] {
  const policies: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      policies.push(policyOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return policies;
}

/**
 * The policy this test runs under, which the front inherits. It is SCHED_OTHER on most
 * machines, but a CI runner may itself be started under SCHED_BATCH or SCHED_IDLE.
 */
const ownPolicy = linux ? policyOf(readFileSync('/proc/thread-self/stat', 'latin1')) : -1;

interface Policies {
  front: number[];
  worker: number[];
  /** What the worker said if the kernel refused it the policy (a seccomp filter can). */
  refused: string | null;
}

async function workerPolicies(argv: string[]): Promise<Policies> {
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
    const refused = /Cannot use the SCHED_BATCH policy[^\n]*/.exec(server.stderr());
    return {
      front: threadPolicies(server.proc.pid!),
      worker: threadPolicies(pid),
      refused: refused ? refused[0] : null,
    };
  } finally {
    await server.stop();
  }
}

describe(
  'worker scheduling policy',
  { skip: linux ? false : 'SCHED_BATCH and /proc are Linux’s' },
  () => {
    test('by default every thread of a worker is SCHED_BATCH, and the front keeps its own policy', async (t) => {
      const { front, worker, refused } = await workerPolicies([]);
      if (refused) return t.skip(`this machine refuses the policy: ${refused}`);
      assert.ok(worker.length >= 5, `main, reader and three app threads: ${worker.length}`);
      assert.deepEqual(new Set(worker), new Set([SCHED_BATCH]));
      assert.deepEqual(new Set(front), new Set([ownPolicy]), 'the front keeps the policy it was started with');
    });

    test('workers forked from the --preload zygote are SCHED_BATCH too', async (t) => {
      const { worker, refused } = await workerPolicies(['--preload']);
      if (refused) return t.skip(`this machine refuses the policy: ${refused}`);
      assert.deepEqual(new Set(worker), new Set([SCHED_BATCH]));
    });

    test('--worker-scheduling inherit leaves the workers under the front’s policy', async () => {
      const { front, worker } = await workerPolicies(['--worker-scheduling', 'inherit']);
      assert.deepEqual(new Set(front), new Set([ownPolicy]));
      assert.deepEqual(new Set(worker), new Set([ownPolicy]));
    });
  },
);
