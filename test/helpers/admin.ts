// The admin listener of a running cask, found from its start-up line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { onPath, type RunningCask } from './cask.js';
import { get } from './http.js';

export function adminPort(server: RunningCask): number {
  const match = /Admin listener on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr());
  assert.ok(match, 'no admin listener in the log');
  return Number(match[1]);
}

/** GET /metrics from the admin listener on `port`, which must answer 200, parsed. */
export async function scrapeMetrics(
  port: number,
  headers: Record<string, string> = {},
): Promise<Map<string, number>> {
  const response = await get(port, '/metrics', headers);
  assert.equal(response.status, 200, response.body.toString());
  return parseMetrics(response.body.toString());
}

/** One sample line of a Prometheus exposition: `name{labels}` as printed → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** The value of `name` with exactly `labels` (in the order the server prints them). */
export function metric(
  metrics: Map<string, number>,
  name: string,
  labels: Record<string, string | number> = {},
): number | undefined {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return metrics.get(text === '' ? name : `${name}{${text}}`);
}

/** The sum of every sample of `name` whatever its labels. */
export function metricSum(metrics: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    if (key === name || key.startsWith(`${name}{`)) sum += value;
  }
  return sum;
}

/**
 * `promtool check metrics` (Debian's prometheus package) on an exposition: its complaints, ''
 * when it has none; undefined when promtool is not installed.
 */
export function promtoolCheck(text: string): string | undefined {
  const promtool = onPath('promtool');
  if (promtool === undefined) return undefined;
  const run = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return run.status === 0 ? '' : `${run.stdout}${run.stderr}`.trim() || `exit ${run.status}`;
}
