// The benchmark lab starts Cask's front with the Node flags the `cask` command itself runs with
// (the first line of bin/cask.js), so what it measures is what users run.

import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { CASK_NODE_FLAGS } from '../../src/bench/servers.js';

test('`CASK_NODE_FLAGS` are the flags of the first line of bin/cask.js', (t: TestContext) => {
  const shebang = readFileSync(new URL('../../bin/cask.js', import.meta.url), 'utf8').split(
    '\n',
  )[0];
  const match = /^#!\/usr\/bin\/env -S node(?<flags>( --\S+)*)$/.exec(shebang ?? '');
  t.plan(2);
  t.assert.ok(match, `unexpected first line: ${shebang}`);
  t.assert.deepEqual(match?.groups?.flags?.trim().split(' ').filter(Boolean) ?? [], [
    ...CASK_NODE_FLAGS,
  ]);
});
