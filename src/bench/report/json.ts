// results.json: written first, before any rendering, so a rendering bug never loses a
// run; `cask bench report` reads it back and renders again.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SCHEMA, type BenchReport } from '../results.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

export function writeJson(report: BenchReport, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, 'results.json');
  writeFileSync(path, `${JSON.stringify(report, null, 1)}\n`);
  return path;
}

export function readJson(path: string): BenchReport {
  const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<BenchReport>;
  if (data.schema !== SCHEMA)
    throw new Error(`Not a cask bench results file (schema ${String(data.schema)}): ${path}`);
  return data as BenchReport;
}

/** Render results.md and results.html next to (or in outDir instead of) the JSON. */
export function renderReports(
  report: BenchReport,
  outDir: string,
): { markdown: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const markdown = join(outDir, 'results.md');
  const html = join(outDir, 'results.html');
  writeFileSync(markdown, renderMarkdown(report));
  writeFileSync(html, renderHtml(report));
  return { markdown, html };
}

export function defaultOutDir(jsonPath: string): string {
  return dirname(jsonPath);
}
