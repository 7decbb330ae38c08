// IdTable: the table of values by exchange id that the link, the workers and the pool keep
// instead of Maps (src/ipc/id-table.ts says why).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdTable } from '../../src/ipc/id-table.js';

test('IdTable sets, gets, counts and deletes by id', () => {
  const table = new IdTable<string>();
  assert.equal(table.size, 0);
  table.set(7, 'a');
  table.set(3, 'b');
  table.set(7, 'c'); // a new value for an id already there is not a new entry
  assert.equal(table.size, 2);
  assert.equal(table.get(7), 'c');
  assert.equal(table.get(4), undefined);
  assert.ok(table.has(3) && !table.has(4));
  assert.equal(table.delete(3), true);
  assert.equal(table.delete(3), false);
  assert.equal(table.size, 1);
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.get(7), undefined);
});

test('IdTable iterates in ascending order of id, the order a link opens them in', () => {
  const table = new IdTable<number>();
  for (const id of [1, 2, 3, 10, 11, 0xfffffffe, 0xffffffff]) table.set(id, id * 2);
  table.delete(2);
  assert.deepEqual(
    [...table].map(([id]) => id),
    [1, 3, 10, 11, 0xfffffffe, 0xffffffff],
  );
  assert.deepEqual([...table.values()], [2, 6, 20, 22, 0xfffffffe * 2, 0xffffffff * 2]);
});

test('IdTable skips an entry deleted during the iteration before it is reached, as a Map does', () => {
  const table = new IdTable<string>();
  for (let id = 1; id <= 5; id++) table.set(id, `v${id}`);
  const seen: number[] = [];
  for (const [id] of table) {
    seen.push(id);
    if (id === 2) {
      table.delete(4);
      table.delete(1);
    }
  }
  assert.deepEqual(seen, [1, 2, 3, 5]);
  assert.equal(table.size, 3);
});

test('IdTable keeps a value of 0, which is not "no value"', () => {
  const credit = new IdTable<number>();
  credit.set(9, 0);
  assert.equal(credit.size, 1);
  assert.ok(credit.has(9));
  assert.equal(credit.get(9), 0);
});

test('IdTable agrees with a Map through growth, shrinking and long-lived entries', () => {
  // Ids as a link makes them (counting up, a few held for long) and at random, with runs that
  // wrap around the end of the slots: every get, has, size and iteration checked against a Map.
  let seed = 12345;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (const pattern of ['sequential', 'random', 'near the top'] as const) {
    const table = new IdTable<number>();
    const reference = new Map<number, number>();
    let next = pattern === 'near the top' ? 0xffffff00 : 1;
    for (let step = 0; step < 20_000; step++) {
      const roll = random(100);
      if (roll < 55 || reference.size === 0) {
        const id =
          pattern === 'random' ? random(4096) : pattern === 'sequential' ? next++ : next++ >>> 0;
        table.set(id, step);
        reference.set(id, step);
      } else {
        // Mostly the oldest entries (answered in order), sometimes any, sometimes one not there.
        const keys = [...reference.keys()];
        const id =
          roll < 85 ? (keys[0] as number) : roll < 97 ? (keys[random(keys.length)] as number) : 7e8;
        assert.equal(table.delete(id), reference.delete(id));
      }
      if (step % 5_000 === 4_999) {
        // A burst: hundreds in flight at once, then answered, which grows and shrinks the table.
        const burst: number[] = [];
        for (let i = 0; i < 1500; i++) burst.push(pattern === 'random' ? 5000 + i : next++ >>> 0);
        for (const id of burst) {
          table.set(id, -id);
          reference.set(id, -id);
        }
        for (const id of burst) assert.equal(table.delete(id), reference.delete(id));
      }
      assert.equal(table.size, reference.size);
      const probe = pattern === 'random' ? random(4096) : (next - 1 - random(64)) >>> 0;
      assert.equal(table.get(probe), reference.get(probe));
      assert.equal(table.has(probe), reference.has(probe));
    }
    const sorted = [...reference].sort((a, b) => a[0] - b[0]);
    assert.deepEqual([...table], sorted, pattern);
  }
});

test('IdTable refuses an id a link cannot make, rather than storing it under another', () => {
  const table = new IdTable<string>();
  for (const id of [-1, 2 ** 32, 1.5, Number.NaN]) {
    assert.throws(() => table.set(id, 'x'), RangeError);
  }
  assert.equal(table.size, 0);
});
