// Whom --user and --group switch to (`runAs()`), resolved through the system's users and
// groups (getent), for a process said to run as root or as another user; and --socket-mode.
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { runAs, socketModeValue } from '../../src/net/owner.js';

/** The fields of a user's or group's entry, or undefined when the system has none. */
function entry(database: 'passwd' | 'group', name: string): string[] | undefined {
  const found = spawnSync('getent', [database, name], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim().split(':') : undefined;
}

const nobody = entry('passwd', 'nobody');
const nogroup = entry('group', 'nogroup');
const skip = nobody === undefined || nogroup === undefined ? 'no nobody or nogroup here' : false;
const ROOT = { uid: 0, gid: 0, groups: [0] };

test(
  '`runAs()` as root takes the user, its own group, or the group given',
  { skip },
  (t: TestContext) => {
    t.plan(4);
    const uid = Number(nobody?.[2]);
    const gid = Number(nogroup?.[2]);
    t.assert.deepStrictEqual(runAs('nobody', 'nogroup', ROOT), { name: 'nobody', uid, gid });
    t.assert.deepStrictEqual(runAs('nobody', '', ROOT), {
      name: 'nobody',
      uid,
      gid: Number(nobody?.[3]),
    });
    t.assert.deepStrictEqual(runAs(String(uid), 'root', ROOT), { name: 'nobody', uid, gid: 0 });
    t.assert.deepStrictEqual(runAs('', 'nogroup', ROOT), { name: undefined, uid: undefined, gid });
  },
);

test('`runAs()` returns undefined when nothing is to switch', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(runAs('', '', ROOT), undefined);
  // Not root: the options may only name this process's own user and a group it is in.
  t.assert.strictEqual(
    runAs('1000', '4242', { uid: 1000, gid: 100, groups: [100, 4242] }),
    undefined,
  );
});

test(
  '`runAs()` refuses a switch a process that is not root cannot make',
  { skip },
  (t: TestContext) => {
    t.plan(3);
    const me = { uid: 1000, gid: 1000, groups: [1000] };
    t.assert.throws(() => runAs('nobody', '', me), {
      name: 'ConfigError',
      message:
        'Cannot switch to --user nobody: only root may change the user it runs as, and this process runs as uid 1000',
    });
    t.assert.throws(() => runAs('', 'nogroup', me), {
      name: 'ConfigError',
      message:
        'Cannot switch to --group nogroup: only root may change the group it runs in, and this process (uid 1000) is not in that group',
    });
    // Its own user, whatever group the system says is the user's own: nothing to switch.
    t.assert.strictEqual(runAs('1000', '', me), undefined);
  },
);

test('`runAs()` as root refuses a uid the system does not know without --group', (t: TestContext) => {
  t.plan(2);
  t.assert.throws(() => runAs('4000000000', '', ROOT), {
    name: 'ConfigError',
    message:
      'Cannot tell the group of --user 4000000000: it is not a user of this system with a group of its own (give --group too)',
  });
  t.assert.deepStrictEqual(runAs('4000000000', '4000000001', ROOT), {
    name: undefined,
    uid: 4000000000,
    gid: 4000000001,
  });
});

test('`loadConfig()` reads --socket-mode as octal, 0660 by default, and refuses other text', (t: TestContext) => {
  t.plan(6);
  t.assert.strictEqual(socketModeValue(loadConfig({ env: {} }).socketMode), 0o660);
  t.assert.strictEqual(
    socketModeValue(loadConfig({ argv: ['--socket-mode', '666'], env: {} }).socketMode),
    0o666,
  );
  t.assert.strictEqual(
    socketModeValue(loadConfig({ env: { CASK_SOCKET_MODE: '0o600' } }).socketMode),
    0o600,
  );
  for (const bad of ['999', '0o1777', 'rw-rw----']) {
    t.assert.throws(() => loadConfig({ argv: ['--socket-mode', bad], env: {} }), {
      name: 'ConfigError',
      message: `Invalid value for --socket-mode: "${bad}" is not an octal file mode (write 660, 0660 or 0o666)`,
    });
  }
});
