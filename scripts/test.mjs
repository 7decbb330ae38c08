#!/usr/bin/env node
// `npm test`: build, then the TypeScript tests (node:test) and the Python worker tests
// (unittest), in that order; exits non-zero if either fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, opts = {}) => {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return result.status ?? 1;
};

const only = process.argv.slice(2);
const files = only.length > 0 ? only : ['unit', 'integration'].flatMap((dir) =>
  readdirSync(join(root, 'test', dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', dir, f)),
);

let failed = run('npm', ['run', '--silent', 'build']);
if (failed === 0) {
  // Integration tests start real servers and Python processes; two at a time suits 2 cores.
  failed |= run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files]);
}
if (only.length === 0) {
  const python = process.env.CASK_TEST_PYTHON || 'python3';
  failed |= run(python, ['-m', 'unittest', 'discover', '-s', 'python/tests', '-t', 'python']);
}
process.exit(failed ? 1 : 0);
