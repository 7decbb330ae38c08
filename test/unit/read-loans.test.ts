// BufferLender without a socket: which reads are lent or copied, and when a buffer is used
// again (src/ipc/read-loans.ts). The same class over a real pipe and a real front is in
// test/integration/read-loans.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferLender, LEND_FROM, type Loan } from '../../src/ipc/read-loans.js';

/** A "read" of `bytes` into the lender's next buffer, as the socket's onread does. */
function read(
  lender: BufferLender,
  bytes: Buffer,
): { chunk: Buffer; loan: Loan | undefined; into: Buffer } {
  const into = lender.next;
  bytes.copy(into);
  let got: { chunk: Buffer; loan: Loan | undefined } | undefined;
  lender.read(bytes.length, (chunk, loan) => (got = { chunk, loan }));
  assert.ok(got !== undefined);
  return { ...got, into };
}

test('a read shorter than LEND_FROM is copied out and comes without a loan', () => {
  const lender = new BufferLender(64 * 1024);
  const first = read(lender, Buffer.from('hello'));
  assert.equal(first.loan, undefined);
  assert.equal(first.chunk.toString(), 'hello');
  assert.notEqual(first.chunk.buffer, first.into.buffer);
  read(lender, Buffer.alloc(LEND_FROM - 1, 1));
  assert.equal(first.chunk.toString(), 'hello', 'the copy outlives the next read');
  assert.equal(lender.next, first.into, 'the same buffer takes the next read');
  assert.equal(lender.allocated, 1);
});

test('a lent read nobody holds leaves its buffer for the next read', () => {
  const lender = new BufferLender(64 * 1024);
  const first = read(lender, Buffer.alloc(LEND_FROM, 0xaa));
  assert.ok(first.loan !== undefined);
  assert.equal(first.chunk.buffer, first.into.buffer, 'a view, not a copy');
  assert.equal(first.chunk.length, LEND_FROM);
  assert.equal(lender.next, first.into);
  assert.equal(lender.allocated, 1);
});

test('a held read keeps its bytes: the next read goes into another buffer', () => {
  const lender = new BufferLender(64 * 1024);
  let release: (() => void) | undefined;
  const into = lender.next;
  Buffer.alloc(20_000, 0x11).copy(into);
  let kept: Buffer | undefined;
  lender.read(20_000, (chunk, loan) => {
    kept = chunk;
    release = loan?.hold();
  });
  assert.notEqual(lender.next, into);
  read(lender, Buffer.alloc(30_000, 0x22));
  read(lender, Buffer.alloc(30_000, 0x33));
  assert.ok(
    kept?.every((b) => b === 0x11),
    'held bytes untouched by later reads',
  );
  assert.equal(lender.allocated, 2);
  assert.equal(lender.spare, 0);
  release?.();
  assert.equal(lender.spare, 1, 'released, it waits on the free list');
});

test('a buffer comes back only at its last release, and the free list is bounded', () => {
  const lender = new BufferLender(64 * 1024);
  const releases: Array<() => void> = [];
  for (let i = 0; i < 4; i++) {
    const into = lender.next;
    into.fill(i, 0, LEND_FROM);
    lender.read(LEND_FROM, (_chunk, loan) => {
      assert.ok(loan !== undefined);
      releases.push(loan.hold(), loan.hold());
    });
  }
  assert.equal(lender.allocated, 5, 'four held, one for the next read');
  releases[0]?.();
  assert.equal(lender.spare, 0, 'one of two holds released: still out');
  releases[1]?.();
  assert.equal(lender.spare, 1);
  for (const release of releases.slice(2)) release();
  assert.equal(lender.spare, 2, 'more than two free buffers are left to the collector');
  const before = lender.allocated;
  lender.read(LEND_FROM, (_chunk, loan) => void loan?.hold());
  assert.equal(lender.allocated, before, 'the next buffer came from the free list');
  assert.equal(lender.spare, 1);
});
