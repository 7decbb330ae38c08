#!/usr/bin/env node
// `npm test`: build, then the TypeScript tests (node:test) and the Python worker tests
// (unittest), in that order; exits non-zero if either fails.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/**
 * Runs a command with its output passed through as it comes. With `failures`, the TAP that
 * node:test prints is also read line by line, and every `not ok` block (the line and the YAML
 * that follows it) is kept, so it can be printed again at the end: a run prints some 9,000
 * lines, and a log that keeps only its tail would otherwise hide which test failed. In a
 * terminal the output is left alone: node:test then uses its spec reporter, which lists the
 * failures at the end itself.
 */
function run(cmd, args, failures = null) {
  if (process.stdout.isTTY) failures = null;
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['inherit', failures ? 'pipe' : 'inherit', 'inherit'] });
    if (failures) {
      let partial = '';
      let block = null;
      const take = (line) => {
        if (/^\s*not ok \d+/.test(line)) {
          block = [line];
          failures.push(block);
        } else if (block) {
          block.push(line);
          // The YAML diagnostics of a test end with a line of three dots at its indentation.
          if (/^\s*\.\.\.$/.test(line)) block = null;
        }
      };
      child.stdout.on('data', (chunk) => {
        process.stdout.write(chunk);
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop();
        for (const line of lines) take(line);
      });
      child.stdout.on('end', () => partial && take(partial));
    }
    child.on('error', (err) => {
      console.error(`${cmd}: ${err.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : ['unit', 'integration'].flatMap((dir) =>
  readdirSync(join(root, 'test', dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', dir, f)),
);

const failures = [];
let failed = await run('npm', ['run', '--silent', 'build']);
if (failed === 0) {
  // Integration tests start real servers and Python processes; two at a time suits 2 cores.
  failed |= await run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], failures);
}
if (only.length === 0) {
  const python = process.env.CASK_TEST_PYTHON || 'python3';
  failed |= await run(python, ['-m', 'unittest', 'discover', '-s', 'python/tests', '-t', 'python']);
}
if (failures.length > 0) {
  // A suite or file is also `not ok` when a test inside it failed; its block follows the test's.
  console.log(`\n# ${failures.length} node:test results were not ok, repeated here:`);
  for (const block of failures) console.log(block.join('\n'));
}
process.exit(failed ? 1 : 0);
