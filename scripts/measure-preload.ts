// Measures what `--preload` saves: the proportional set size (PSS, from
// /proc/PID/smaps_rollup) of every Python process of a server running a Django site with 4
// workers, for Cask with and without --preload and gunicorn with and without --preload,
// after each has served the same requests. PSS counts a page shared by n processes as 1/n
// in each, so the sum over a server's processes is the memory the server really takes.
//
//   node --import tsx scripts/measure-preload.ts [--python /usr/bin/python3] [--json FILE]
//
// Needs Django and gunicorn for that Python (Debian: python3-django, gunicorn).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APPS = `${ROOT}test/fixtures/apps`;
const APP = 'django_admin_site:application';
const WORKERS = 4;
const WARM_REQUESTS = 400;

interface Server {
  readonly name: string;
  command(python: string, port: number): { file: string; args: string[] };
}

const SERVERS: readonly Server[] = [
  ...[false, true].map((preload) => ({
    name: preload ? 'cask --preload' : 'cask',
    command: (python: string, port: number) => ({
      file: process.execPath,
      args: [
        `${ROOT}bin/cask.js`,
        'serve',
        APP,
        '--chdir',
        APPS,
        '--python',
        python,
        '-w',
        String(WORKERS),
        '-b',
        `127.0.0.1:${port}`,
        '--log-level',
        'warning',
        ...(preload ? ['--preload'] : []),
      ],
    }),
  })),
  ...[false, true].map((preload) => ({
    name: preload ? 'gunicorn --preload' : 'gunicorn',
    command: (python: string, port: number) => ({
      file: python,
      args: [
        '-m',
        'gunicorn',
        APP,
        '--chdir',
        APPS,
        '-w',
        String(WORKERS),
        '-b',
        `127.0.0.1:${port}`,
        '--log-level',
        'warning',
        ...(preload ? ['--preload'] : []),
      ],
    }),
  })),
];

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { Connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every process under `root`, with its command name, from /proc. */
function descendants(root: number): Array<{ pid: number; name: string }> {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // gone meanwhile
    }
  }
  const out: Array<{ pid: number; name: string }> = [];
  const walk = (pid: number): void => {
    for (const [child, ppid] of parent) {
      if (ppid !== pid) continue;
      out.push({ pid: child, name: names.get(child) ?? '' });
      walk(child);
    }
  };
  walk(root);
  return out;
}

function pssKiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
}

async function measure(server: Server, python: string, port: number) {
  const { file, args } = server.command(python, port);
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    while ((await get(port, '/ok')) !== 200) {
      if (Date.now() > deadline) throw new Error(`${server.name} did not start`);
      await sleep(200);
    }
    // Every worker serves the admin login page a few times: templates, sessions, the ORM.
    for (let i = 0; i < WARM_REQUESTS; i += 8) {
      await Promise.all(Array.from({ length: 8 }, () => get(port, '/admin/login/')));
    }
    await sleep(1000);
    const pythons = descendants(child.pid as number).filter((p) => /^python/.test(p.name));
    const root = server.name.startsWith('gunicorn') ? [child.pid as number] : [];
    const pss = [...root, ...pythons.map((p) => p.pid)].map(pssKiB);
    return {
      server: server.name,
      processes: pss.length,
      pythonPssMiB: pss.reduce((a, b) => a + b, 0) / 1024,
      frontPssMiB: server.name.startsWith('cask') ? pssKiB(child.pid as number) / 1024 : 0,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const python = argv[argv.indexOf('--python') + 1] ?? '/usr/bin/python3';
  const json = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const results = [];
  for (const [i, server] of SERVERS.entries())
    results.push(await measure(server, python, 18400 + i));
  const base = results[0]?.pythonPssMiB ?? 1;
  console.log(
    `Django site (${APP}), ${WORKERS} workers, ${python}, PSS after ${WARM_REQUESTS} requests\n`,
  );
  console.log(
    '| server | Python processes | PSS of the Python processes | vs cask | PSS of the front |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const front = r.frontPssMiB === 0 ? '—' : `${r.frontPssMiB.toFixed(1)} MiB`;
    console.log(
      `| ${r.server} | ${r.processes} | ${r.pythonPssMiB.toFixed(1)} MiB | ${(r.pythonPssMiB / base).toFixed(2)}× | ${front} |`,
    );
  }
  if (json !== undefined)
    writeFileSync(json, `${JSON.stringify({ python, workers: WORKERS, results }, null, 2)}\n`);
}

await main();
