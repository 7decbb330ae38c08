// The static route's open-file table (src/static/file-table.ts): what it trusts and for how
// long (`--static-cache-valid`), and how many files it holds.
import {
  mkdtempSync,
  openSync,
  fstatSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileTable } from '../../src/static/file-table.js';

function site(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-file-table-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hold(table: FileTable, path: string) {
  const fd = openSync(path, 'r');
  return table.keep(path, path, fd, fstatSync(fd, { bigint: true }));
}

test('with validMs 0, an edit, a replacement and a deletion are seen at the next lookup', (t: TestContext) => {
  t.plan(4);
  const dir = site(t);
  const path = join(dir, 'a.txt');
  writeFileSync(path, 'one\n');
  const table = new FileTable(8, 60_000, 0);
  t.after(() => table.clear());
  hold(table, path);
  t.assert.ok(table.lookup(path, path) !== undefined);
  writeFileSync(path, 'two, longer\n');
  t.assert.strictEqual(table.lookup(path, path), undefined, 'edited in place');
  hold(table, path);
  writeFileSync(`${path}.new`, 'three\n');
  renameSync(`${path}.new`, path);
  t.assert.strictEqual(table.lookup(path, path), undefined, 'replaced');
  hold(table, path);
  unlinkSync(path);
  t.assert.strictEqual(table.lookup(path, path), undefined, 'deleted');
});

test('within validMs the held file is trusted; after it, a change is seen', async (t: TestContext) => {
  t.plan(5);
  const dir = site(t);
  const path = join(dir, 'a.txt');
  writeFileSync(path, 'one\n');
  // A second of validity: the writes between holding the file and looking it up again must
  // fit in it even on a loaded machine.
  const table = new FileTable(8, 60_000, 1000);
  t.after(() => table.clear());
  const held = hold(table, path);
  held.memo = 'worked out once';
  writeFileSync(`${path}.new`, 'two\n');
  renameSync(`${path}.new`, path);
  const soon = table.lookup(path, path);
  t.assert.strictEqual(soon, held, 'trusted without a stat');
  t.assert.strictEqual(soon?.memo, 'worked out once');
  await sleep(1100);
  t.assert.strictEqual(table.lookup(path, path), undefined, 'replaced: seen after validMs');
  const again = hold(table, path);
  await sleep(1100);
  // Unchanged after the interval: still held, and what was worked out for it is kept.
  again.memo = 'kept';
  t.assert.strictEqual(table.lookup(path, path), again);
  t.assert.strictEqual(again.memo, 'kept');
});

test('the table holds at most `max` files, dropping the least recently used', (t: TestContext) => {
  t.plan(4);
  const dir = site(t);
  const table = new FileTable(3, 60_000, 1000);
  t.after(() => table.clear());
  const paths = ['a', 'b', 'c', 'd', 'e'].map((name) => {
    const path = join(dir, name);
    writeFileSync(path, name);
    return path;
  });
  for (const path of paths.slice(0, 3)) hold(table, path);
  for (const path of paths.slice(3)) hold(table, path);
  t.assert.strictEqual(table.size, 3);
  t.assert.strictEqual(table.lookup(paths[0] as string, paths[0] as string), undefined);
  t.assert.strictEqual(table.lookup(paths[1] as string, paths[1] as string), undefined);
  t.assert.ok(table.lookup(paths[4] as string, paths[4] as string) !== undefined);
});

test('a dropped file in use is closed only when its last response releases it', (t: TestContext) => {
  t.plan(3);
  const dir = site(t);
  const path = join(dir, 'a.txt');
  writeFileSync(path, 'one\n');
  const table = new FileTable(1, 60_000, 0);
  t.after(() => table.clear());
  const held = hold(table, path);
  table.acquire(held);
  const other = join(dir, 'b.txt');
  writeFileSync(other, 'two\n');
  hold(table, other); // pushes a.txt out while a response still sends from it
  t.assert.ok(held.dropped);
  t.assert.doesNotThrow(() => fstatSync(held.fd), 'still open for its response');
  table.release(held);
  t.assert.throws(() => fstatSync(held.fd), /EBADF/);
});
