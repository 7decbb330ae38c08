// onLines (src/pool/worker.ts): a child's output, cut into lines for the error log. Lines
// split across reads come whole; a line longer than 64 KiB comes in pieces of 64 KiB as it
// is read, each but the last marked, and the time it takes grows with its length only.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { onLines } from '../../src/pool/worker.js';

const PIECE = 64 * 1024;
const CONTINUES = ' [line continues]';

/** Feeds `chunks` to onLines through a stream and resolves with the lines it told. */
function linesOf(chunks: readonly string[]): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  onLines(stream, (line) => lines.push(line));
  return new Promise((resolve) => {
    stream.on('end', () => resolve(lines));
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
  });
}

test('lines split across reads come whole, and the last one without its newline', async () => {
  assert.deepEqual(await linesOf(['one\ntw', 'o\n\nthr', 'ee']), ['one', 'two', '', 'three']);
});

test('a line past 64 KiB comes in pieces of 64 KiB, each but the last marked', async () => {
  const long = 'a'.repeat(PIECE * 2 + 10);
  const lines = await linesOf([long.slice(0, 1000), long.slice(1000), '\nnext\n']);
  assert.deepEqual(lines, [
    `${'a'.repeat(PIECE)}${CONTINUES}`,
    `${'a'.repeat(PIECE)}${CONTINUES}`,
    'a'.repeat(10),
    'next',
  ]);
});

test('a piece does not end between the two halves of a surrogate pair', async () => {
  const lines = await linesOf([`${'a'.repeat(PIECE - 1)}😀b\n`]);
  assert.deepEqual(lines, [`${'a'.repeat(PIECE - 1)}${CONTINUES}`, '😀b']);
});

test('16 MiB without a newline, in 64 KiB reads, is told as it comes and in linear time', async () => {
  const chunk = 'x'.repeat(PIECE);
  const reads = 256;
  const stream = new PassThrough();
  const told: number[] = [];
  onLines(stream, (line) => told.push(line.length));
  const started = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) stream.write(chunk);
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(told.length, reads);
  assert.ok(told.every((length) => length <= PIECE + CONTINUES.length));
  // Tens of milliseconds; copying what was carried at every read took seconds.
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});
