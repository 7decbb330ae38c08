// Measures what the file watcher of `cask dev` costs while nothing changes: a project tree of
// 10,000 files (100 folders of 100; a quarter of them `.py`, half `.html`), `cask dev` watching
// the app's modules plus `--reload-include '*.html' --reload-include '*.py'`, then the CPU time
// of the front process (utime + stime from /proc, Linux) over an idle window. Prints one JSON
// line; docs/development.md quotes the result.
//
//   npm run build && node --import tsx scripts/watch-idle-cpu.ts [idle seconds, default 30]
//
// With `--no-reload` after the seconds, the same server runs without the watcher: the
// difference between the two runs is the watcher's share.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/cask.js', import.meta.url));
const FOLDERS = 100;
const PER_FOLDER = 100;
const CLOCK_TICKS = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ", utime and stime are the 12th and 13th fields.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** inotify watches the process holds: one `inotify wd:` line each in its descriptors' fdinfo. */
function watchCount(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info = '';
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) count++;
  }
  return count;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Math.round(Number(match[1]) / 1024);
}

async function main(): Promise<void> {
  const idle = Number(process.argv[2] ?? 30);
  const watching = process.argv[3] !== '--no-reload';
  const root = mkdtempSync(join(tmpdir(), 'cask-watch-idle-'));
  try {
    for (let d = 0; d < FOLDERS; d++) {
      const folder = join(root, `pkg${d}`);
      mkdirSync(folder);
      writeFileSync(join(folder, '__init__.py'), '');
      for (let f = 1; f < PER_FOLDER; f++) {
        const ext = f % 4 === 0 ? 'py' : f % 4 === 1 ? 'txt' : 'html';
        writeFileSync(join(folder, `f${f}.${ext}`), `# ${d}/${f}\n`);
      }
    }
    writeFileSync(
      join(root, 'app.py'),
      'import pkg0, pkg1, pkg2\n\ndef application(environ, start_response):\n' +
        '    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"ok"]\n',
    );
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        BIN,
        'dev',
        'app:application',
        '--chdir',
        root,
        '-b',
        '127.0.0.1:0',
        '--reload-include',
        '*.html',
        '--reload-include',
        '*.py',
        '--log-level',
        'warning',
        ...(watching ? [] : ['--no-reload']),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr.resume();
    const pid = child.pid as number;
    // The initial scan is over when the process stops using CPU; give it generous time.
    let last = -1;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = cpuSeconds(pid);
      if (now - last < 0.02) break;
      last = now;
    }
    const setupSeconds = (Date.now() - started) / 1000;
    const before = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, idle * 1000));
    const used = cpuSeconds(pid) - before;
    const watches = watchCount(pid);
    const rss = rssMiB(pid);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    console.log(
      JSON.stringify({
        files: FOLDERS * PER_FOLDER,
        watching,
        idleSeconds: idle,
        cpuSeconds: Number(used.toFixed(3)),
        cpuPercent: Number(((used / idle) * 100).toFixed(3)),
        setupSeconds: Number(setupSeconds.toFixed(1)),
        rssMiB: rss,
        inotifyWatches: watches,
      }),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
