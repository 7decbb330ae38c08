// Which servers of the table can run on this machine, and their versions: one Python call
// checks every module a server needs (under --python), files are checked for the rest.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerDef } from './servers.js';

export interface Availability {
  ok: boolean;
  version: string;
  reason: string;
}

/** Which servers can run here, with versions; one Python call checks every module. */
export function probeServers(
  defs: readonly ServerDef[],
  pythonPath: string,
  repoRoot: string,
): Map<string, Availability> {
  const modules = [
    ...new Set(
      defs.flatMap((d) => d.needs.flatMap((n) => ('module' in n ? [`${n.module}=${n.dist}`] : []))),
    ),
  ];
  let found: Record<string, string | null> = {};
  let pyError = '';
  const script = [
    'import importlib.util, importlib.metadata, json, sys',
    'out = {}',
    'for spec in sys.argv[1:]:',
    '    mod, dist = spec.split("=")',
    '    if importlib.util.find_spec(mod) is None:',
    '        out[mod] = None; continue',
    '    try: out[mod] = importlib.metadata.version(dist)',
    '    except Exception: out[mod] = "?"',
    'out["python"] = sys.version.split()[0]',
    'print(json.dumps(out))',
  ].join('\n');
  try {
    found = JSON.parse(
      execFileSync(pythonPath, ['-c', script, ...modules], { encoding: 'utf8', timeout: 30_000 }),
    ) as Record<string, string | null>;
  } catch (err) {
    pyError = `${pythonPath} did not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  const out = new Map<string, Availability>();
  for (const d of defs) {
    const missing: string[] = [];
    const versions: string[] = [];
    for (const n of d.needs) {
      if ('module' in n) {
        if (pyError !== '') missing.push(pyError);
        else if (found[n.module] == null)
          missing.push(`Python module ${n.module} not importable by ${pythonPath}`);
        else versions.push(`${n.dist} ${found[n.module]}`);
      } else {
        const p = n.file.startsWith('/') ? n.file : join(repoRoot, n.file);
        if (!existsSync(p)) missing.push(`${n.what} not found (${p})`);
      }
    }
    if (d.name === 'cask') versions.push(`cask ${caskVersion(repoRoot)}`);
    if (d.serves === 'fixed') versions.push(`node ${process.version}`);
    if (d.name === 'uwsgi' && missing.length === 0)
      versions.push(`uwsgi ${commandVersion(['/usr/bin/uwsgi', '--version'])}`);
    if (d.name === 'mod_wsgi' && missing.length === 0)
      versions.push(commandVersion(['/usr/sbin/apache2', '-v']).replace(/^Server version:\s*/, ''));
    if (
      d.needs.every((n) => !('module' in n)) &&
      // A fixed-response server runs no Python unless it has a Python part (net-hop).
      (d.serves !== 'fixed' || d.needs.some((n) => 'file' in n && n.file.endsWith('.py'))) &&
      d.name !== 'uwsgi' &&
      d.name !== 'mod_wsgi' &&
      pyError === ''
    )
      versions.push(`python ${found.python ?? '?'}`);
    out.set(d.name, {
      ok: missing.length === 0,
      version: versions.join(', '),
      reason: missing.join('; '),
    });
  }
  return out;
}

function caskVersion(repoRoot: string): string {
  try {
    return (
      (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string })
        .version ?? '?'
    );
  } catch {
    return '?';
  }
}

function commandVersion(argv: string[]): string {
  try {
    const [cmd, ...args] = argv;
    return (
      execFileSync(cmd as string, args, { encoding: 'utf8', timeout: 10_000 })
        .split('\n')[0]
        ?.trim() ?? '?'
    );
  } catch {
    return '?';
  }
}

/** The modules of `needs` that `pythonPath` cannot import, each with why and the Debian
 * package that provides it (one Python call for all of them). */
export function missingModules(
  pythonPath: string,
  needs: ReadonlyArray<{ module: string; debian: string }>,
): Map<string, string> {
  const out = new Map<string, string>();
  if (needs.length === 0) return out;
  const script = [
    'import importlib.util, sys',
    'print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))',
  ].join('\n');
  let absent: string[];
  try {
    absent = execFileSync(pythonPath, ['-c', script, ...needs.map((n) => n.module)], {
      encoding: 'utf8',
      timeout: 30_000,
    })
      .trim()
      .split(' ')
      .filter((m) => m !== '');
  } catch (err) {
    const why = `${pythonPath} did not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    for (const n of needs) out.set(n.module, why);
    return out;
  }
  for (const n of needs)
    if (absent.includes(n.module))
      out.set(n.module, `${n.module} is not importable by ${pythonPath} (Debian: ${n.debian})`);
  return out;
}

/** Version of the interpreter the Python servers run under, or "?". */
export function pythonVersion(pythonPath: string): string {
  try {
    return execFileSync(pythonPath, ['-c', 'import sys; print(sys.version.split()[0])'], {
      encoding: 'utf8',
      timeout: 10_000,
    }).trim();
  } catch {
    return '?';
  }
}
