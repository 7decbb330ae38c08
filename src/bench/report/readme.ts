// The README's comparison table, rendered from results.json: Cask's headline figure in each
// scenario with its unit, then every other server's figure divided by Cask's (above 1× is
// better than Cask; for lower-is-better figures, Cask's divided by the server's; by CPU time
// per request where the load generator was at its limit, as in the report's own table,
// tables.ts relativeTo), padded the way Prettier pads Markdown tables so the README stays
// formatted.
import type { BenchReport } from '../results.js';
import { isNum } from './format.js';
import { BY_CPU, cellOf, headlineMetric, ranServers, relativeTo } from './tables.js';

/** How the README names each server (the report uses the table's short names). */
const README_NAMES: Readonly<Record<string, string>> = {
  'raw-net': 'raw node:net (ceiling)',
  'net-hop': 'node:net + Python hop (floor)',
  'gunicorn-sync': 'gunicorn sync',
  'gunicorn-gthread': 'gunicorn gthread',
  'gunicorn-gevent': 'gunicorn gevent',
  uwsgi: 'uWSGI',
};

/** The unit printed after Cask's own figure in each kind of scenario. */
function unit(kind: string, name: string): string {
  if (kind === 'open') return 'ms';
  if (kind === 'idle') return 'MB';
  if (name === 'upload' || name === 'download') return 'MB/s';
  if (kind === 'ws') return 'messages/s';
  return 'req/s';
}

/** 0.35×, 1.00×; 50× once two digits say enough. */
export function ratioText(r: number): string {
  if (!isNum(r)) return '—';
  return r >= 10 ? `${Math.round(r)}×` : `${r.toFixed(2)}×`;
}

/** Pad a Markdown table as Prettier does: every column as wide as its widest cell, numbers
 *  (every column but the first) right-aligned. */
export function padTable(rows: string[][]): string {
  const head = rows[0] ?? [];
  const widths = head.map((_, i) => Math.max(3, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s: string, i: number): string => {
    const fill = ' '.repeat((widths[i] as number) - [...s].length);
    return i === 0 ? s + fill : fill + s;
  };
  const line = (r: string[]): string => `| ${r.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(head), rule, ...rows.slice(1).map(line)].join('\n');
}

/** The table, or null when Cask did not run. Scenarios where Cask has no figure are left out. */
export function readmeTable(report: BenchReport, base = 'cask'): string | null {
  const servers = ranServers(report);
  if (!servers.includes(base)) return null;
  const scenarios = report.scenarios.filter((sc) =>
    isNum(headlineMetric(sc, cellOf(report, base, sc.name)).value),
  );
  const rows: string[][] = [['server', ...scenarios.map((s) => s.name)]];
  rows.push([
    `**${base}**`,
    ...scenarios.map((sc) => {
      const m = headlineMetric(sc, cellOf(report, base, sc.name));
      const [figure, ...rest] = m.text.split(' ');
      return [figure, unit(sc.kind, sc.name), ...rest].join(' ');
    }),
  ]);
  for (const srv of servers.filter((s) => s !== base)) {
    rows.push([
      README_NAMES[srv] ?? srv,
      ...scenarios.map((sc) => {
        const r = relativeTo(sc, cellOf(report, srv, sc.name), cellOf(report, base, sc.name));
        if (r === undefined) return '—';
        return `${ratioText(r.value)}${r.byCpu ? ` ${BY_CPU}` : ''}`;
      }),
    ]);
  }
  return padTable(rows);
}
