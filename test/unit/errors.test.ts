import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `(CASK_[A-Z_]+)` \| (\d{3}|—) \|/gm)].map((m) => [m[1] as string, m[2] as string]),
);

test('docs/errors.md lists every error code of src/errors.ts and no other', () => {
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
});

test('docs/errors.md gives each HTTP error the status src/errors.ts sends', () => {
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    const documented = rows.get(code);
    if (documented === '—') continue;
    assert.equal(Number(documented), status, code);
  }
});
