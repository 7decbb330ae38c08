// Throwaway certificates for the TLS tests, made at test time with the `openssl` CLI: a CA, a
// server certificate for 127.0.0.1 and localhost, a client certificate signed by the CA, one
// signed by another CA, and the server key encrypted with a password. EC P-256 keys: quick to
// make, and what certbot issues by default.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { onPath } from './cask.js';

export interface TestCerts {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  /** `key`, encrypted with the password in `passwordFile`. */
  encryptedKey: string;
  passwordFile: string;
  /** A certificate and key for another name, signed by the same CA (a renewal). */
  renewedCert: string;
  renewedKey: string;
  /** Signed by `ca`; subject `/C=FR/O=Example, Inc./CN=Zoë`. */
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the server does not know. */
  strangerCert: string;
  strangerKey: string;
}

export const PASSWORD = 'correct horse';

/** Why the TLS tests cannot run here, or undefined when `openssl` is on PATH. */
export function opensslMissing(): string | undefined {
  return onPath('openssl') === undefined ? 'the openssl command is not installed' : undefined;
}

function openssl(dir: string, args: string[]): void {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${run.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function selfSigned(dir: string, name: string, subject: string): void {
  openssl(
    dir,
    ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`].concat([
      '-days',
      '2',
      '-subj',
      subject,
    ]),
  );
}

function signed(dir: string, name: string, subject: string, ca: string, ext?: string): void {
  openssl(dir, [
    'req',
    '-utf8',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  ]);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-out', `${name}.pem`, '-days', '2',
    ...(ext === undefined ? [] : ['-extfile', ext]),
  ]); // prettier-ignore
}

/** Makes the certificates in a temporary directory removed after the test. */
export function makeCerts(t: TestContext): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'cask-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(join(dir, 'renewed.ext'), 'subjectAltName=IP:127.0.0.1,DNS:renewed.localhost\n');
  selfSigned(dir, 'ca', '/CN=Cask Test CA');
  selfSigned(dir, 'other-ca', '/CN=Another CA');
  signed(dir, 'server', '/CN=localhost', 'ca', 'server.ext');
  signed(dir, 'renewed', '/CN=renewed.localhost', 'ca', 'renewed.ext');
  signed(dir, 'client', '/C=FR/O=Example, Inc./CN=Zoë', 'ca');
  signed(dir, 'stranger', '/CN=mallory', 'other-ca');
  writeFileSync(join(dir, 'password.txt'), `${PASSWORD}\n`);
  openssl(
    dir,
    ['pkey', '-in', 'server.key', '-aes256', '-passout', `pass:${PASSWORD}`].concat([
      '-out',
      'server-encrypted.key',
    ]),
  );
  const at = (name: string): string => join(dir, name);
  return {
    dir,
    ca: at('ca.pem'),
    cert: at('server.pem'),
    key: at('server.key'),
    encryptedKey: at('server-encrypted.key'),
    passwordFile: at('password.txt'),
    renewedCert: at('renewed.pem'),
    renewedKey: at('renewed.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.pem'),
    strangerKey: at('stranger.key'),
  };
}
