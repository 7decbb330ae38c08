// The supervisor's rules (src/pool/plan.ts) as a table: a snapshot in, the steps out.
import { test, type TestContext } from 'node:test';
import { plan, type PlanInput, type Step, type WorkerView } from '../../src/pool/plan.js';

function w(key: number, fields: Partial<WorkerView> = {}): WorkerView {
  return {
    key,
    generation: 1,
    state: 'ready',
    retiring: false,
    inFlight: 0,
    startedAt: key,
    ...fields,
  };
}

const cases: Array<[string, PlanInput, Step[]]> = [
  [
    'spawns the whole first generation at start-up',
    { target: 3, serving: 0, pending: 1, workers: [] },
    [
      { do: 'spawn', generation: 1 },
      { do: 'spawn', generation: 1 },
      { do: 'spawn', generation: 1 },
    ],
  ],
  [
    'waits while part of the first generation is still starting',
    { target: 2, serving: 0, pending: 1, workers: [w(1), w(2, { state: 'starting' })] },
    [],
  ],
  [
    'commits the first generation once target workers are ready',
    { target: 2, serving: 0, pending: 1, workers: [w(1), w(2)] },
    [{ do: 'commit', generation: 1 }],
  ],
  [
    'does nothing when the serving generation is complete',
    { target: 2, serving: 1, pending: undefined, workers: [w(1), w(2)] },
    [],
  ],
  [
    'replaces a worker that died',
    { target: 2, serving: 1, pending: undefined, workers: [w(1)] },
    [{ do: 'spawn', generation: 1 }],
  ],
  [
    'ignores workers already draining',
    { target: 1, serving: 1, pending: undefined, workers: [w(1, { state: 'stopping' }), w(2)] },
    [],
  ],
  [
    'starts a replacement for a retiring worker and keeps the old one serving meanwhile',
    { target: 2, serving: 1, pending: undefined, workers: [w(1, { retiring: true }), w(2)] },
    [{ do: 'spawn', generation: 1 }],
  ],
  [
    'keeps a retiring worker while its replacement is still starting',
    {
      target: 2,
      serving: 1,
      pending: undefined,
      workers: [w(1, { retiring: true }), w(2), w(3, { state: 'starting' })],
    },
    [],
  ],
  [
    'drains a retiring worker once its replacement is ready',
    { target: 2, serving: 1, pending: undefined, workers: [w(1, { retiring: true }), w(2), w(3)] },
    [{ do: 'drain', key: 1, why: 'its replacement is ready' }],
  ],
  [
    'drains retiring workers one per ready replacement, oldest first',
    {
      target: 2,
      serving: 1,
      pending: undefined,
      workers: [
        w(1, { retiring: true }),
        w(2, { retiring: true }),
        w(3),
        w(4, { state: 'starting' }),
      ],
    },
    [{ do: 'drain', key: 1, why: 'its replacement is ready' }],
  ],
  [
    'drains the least busy, youngest worker when fewer are wanted',
    {
      target: 1,
      serving: 1,
      pending: undefined,
      workers: [w(1, { inFlight: 3 }), w(2, { inFlight: 0 }), w(3, { inFlight: 0 })],
    },
    [
      { do: 'drain', key: 3, why: 'fewer workers wanted' },
      { do: 'drain', key: 2, why: 'fewer workers wanted' },
    ],
  ],
  [
    'kills a worker still starting before draining a ready one',
    { target: 1, serving: 1, pending: undefined, workers: [w(1), w(2, { state: 'starting' })] },
    [{ do: 'kill', key: 2, why: 'fewer workers wanted' }],
  ],
  [
    'spawns a whole new generation on reload while the old one serves',
    { target: 2, serving: 1, pending: 2, workers: [w(1), w(2)] },
    [
      { do: 'spawn', generation: 2 },
      { do: 'spawn', generation: 2 },
    ],
  ],
  [
    'does not replace an old-generation worker that dies during a reload',
    {
      target: 2,
      serving: 1,
      pending: 2,
      workers: [
        w(1),
        w(3, { generation: 2, state: 'starting' }),
        w(4, { generation: 2, state: 'starting' }),
      ],
    },
    [],
  ],
  [
    'commits the new generation and drains the old one when it is all ready',
    {
      target: 2,
      serving: 1,
      pending: 2,
      workers: [w(1), w(2), w(3, { generation: 2 }), w(4, { generation: 2 })],
    },
    [
      { do: 'commit', generation: 2 },
      { do: 'drain', key: 1, why: 'generation 2 took over' },
      { do: 'drain', key: 2, why: 'generation 2 took over' },
    ],
  ],
  [
    'drains a leftover worker of another generation',
    {
      target: 1,
      serving: 3,
      pending: undefined,
      workers: [w(1, { generation: 2 }), w(2, { generation: 3 })],
    },
    [{ do: 'drain', key: 1, why: 'generation 3 serves' }],
  ],
];

for (const [name, input, expected] of cases) {
  test(`\`plan()\` ${name}`, (t: TestContext) => {
    t.plan(1);
    t.assert.deepStrictEqual(plan(input), expected);
  });
}
