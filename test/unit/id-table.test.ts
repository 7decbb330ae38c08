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
