// Writes requests/{valid,invalid}/NNN-name.http (the exact bytes) and the .json beside each
// (what the parser must make of them) from the cases-*.ts lists, where the bytes
// are spelled with visible escapes. The tests read only the written files.
//
//   node --import tsx test/conformance/generate.ts
//
// Numbers follow the order of the case lists, so append new cases at the end of a list.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hardeningInvalidCases } from './cases-invalid-hardening.js';
import { invalidCases } from './cases-invalid.js';
import { bodyCases } from './cases-valid-bodies.js';
import { hardeningCases } from './cases-valid-hardening.js';
import { headCases } from './cases-valid.js';

const root = new URL('./requests/', import.meta.url);

function reset(dir: string): URL {
  const url = new URL(`${dir}/`, root);
  mkdirSync(url, { recursive: true });
  for (const file of readdirSync(url)) {
    if (/^\d{3}-.*\.(http|json)$/.test(file)) rmSync(new URL(file, url));
  }
  return url;
}

function write(dir: URL, index: number, name: string, bytes: string, expected: unknown): void {
  if (!/^[a-z0-9-]+$/.test(name))
    throw new Error(`Case name must be lowercase words with dashes: ${name}`);
  const base = `${String(index + 1).padStart(3, '0')}-${name}`;
  writeFileSync(new URL(`${base}.http`, dir), Buffer.from(bytes, 'latin1'));
  writeFileSync(new URL(`${base}.json`, dir), `${toJson(expected)}\n`);
}

/** JSON with two spaces of indent, but each [name, value] header pair on one line. */
function toJson(value: unknown): string {
  const str = String.raw`"(?:[^"\\]|\\.)*"`;
  const pair = new RegExp(String.raw`\[\s+(${str}),\s+(${str})\s+\]`, 'g');
  return JSON.stringify(value, null, 2).replace(pair, '[$1, $2]');
}

const validCases = [...headCases, ...bodyCases, ...hardeningCases];
const validDir = reset('valid');
validCases.forEach((c, i) => {
  const requests = c.requests.map((r) => ({
    method: r.method,
    target: r.target,
    versionMinor: r.versionMinor ?? 1,
    headers: r.headers,
    host: r.host ?? r.headers.find(([n]) => n === 'Host')?.[1] ?? '',
    contentLength: r.contentLength ?? -1,
    chunked: r.chunked ?? false,
    keepAlive: r.keepAlive ?? true,
    expectContinue: r.expectContinue ?? false,
    upgrade: r.upgrade ?? false,
    body: r.body ?? '',
  }));
  write(validDir, i, c.name, c.bytes, { requests });
});

const invalidDir = reset('invalid');
const allInvalid = [...invalidCases, ...hardeningInvalidCases];
allInvalid.forEach((c, i) => {
  write(invalidDir, i, c.name, c.bytes, {
    status: c.status,
    completeBefore: c.completeBefore ?? 0,
    why: c.why,
  });
});

console.log(`wrote ${validCases.length} valid and ${allInvalid.length} invalid requests`);
