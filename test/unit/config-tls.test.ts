// The TLS rows of the settings table: gunicorn's spellings, paths resolved where they were
// written, and the choices as flags, env vars and TOML (a bare TOML number included).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('`loadConfig()` leaves TLS off by default', (t: TestContext) => {
  t.plan(1);
  const config = loadConfig({ env: {}, cwd: '/' });
  t.assert.deepStrictEqual(
    [config.certfile, config.keyfile, config.caCerts, config.certReqs, config.ciphers],
    [null, null, null, 'none', null],
  );
});

test('`loadConfig()` reads the TLS flags with gunicorn spellings', (t: TestContext) => {
  t.plan(1);
  const argv = [
    '--certfile', 'cert.pem', '--keyfile', '/etc/ssl/key.pem',
    '--keyfile-password-file', 'pw.txt', '--ca-certs', 'ca.pem', '--cert-reqs', 'REQUIRED',
    '--ciphers', 'ECDHE+AESGCM', '--tls-min-version', '1.3',
  ]; // prettier-ignore
  const config = loadConfig({ argv, env: {}, cwd: '/srv/app' });
  t.assert.deepStrictEqual(
    [
      config.certfile,
      config.keyfile,
      config.keyfilePasswordFile,
      config.caCerts,
      config.certReqs,
      config.ciphers,
      config.tlsMinVersion,
    ],
    [
      '/srv/app/cert.pem',
      '/etc/ssl/key.pem',
      '/srv/app/pw.txt',
      '/srv/app/ca.pem',
      'required',
      'ECDHE+AESGCM',
      '1.3',
    ],
  );
});

test('`loadConfig()` reads tls-min-version from TOML as a string or a bare number', (t: TestContext) => {
  t.plan(3);
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'cask.toml'), 'tls-min-version = 1.3\ncertfile = "tls/cert.pem"\n');
  const config = loadConfig({ env: {}, cwd });
  t.assert.deepStrictEqual(
    [config.tlsMinVersion, config.certfile],
    ['1.3', join(cwd, 'tls/cert.pem')],
  );
  writeFileSync(join(cwd, 'cask.toml'), 'tls-min-version = "1.2"\n');
  t.assert.strictEqual(loadConfig({ env: {}, cwd }).tlsMinVersion, '1.2');
  writeFileSync(join(cwd, 'cask.toml'), 'tls-min-version = 1.1\n');
  t.assert.throws(() => loadConfig({ env: {}, cwd }), {
    name: 'ConfigError',
    message: 'Invalid value for tls-min-version in cask.toml: 1.1 is not one of 1.2, 1.3',
  });
});

test('`loadConfig()` refuses a cert-reqs other than none, optional and required', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(() => loadConfig({ env: { CASK_CERT_REQS: '3' }, cwd: '/' }), {
    name: 'ConfigError',
    message: 'Invalid value for CASK_CERT_REQS: "3" is not one of none, optional, required',
  });
});

test("`loadConfig()` takes gunicorn's 0, 1 and 2 for cert-reqs", (t: TestContext) => {
  t.plan(3);
  for (const [number, word] of [['0', 'none'], ['1', 'optional'], ['2', 'required']] as const) {
    t.assert.strictEqual(loadConfig({ env: { CASK_CERT_REQS: number }, cwd: '/' }).certReqs, word);
  }
});
