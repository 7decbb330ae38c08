// TLS termination on a real cask, reached by curl and by node:tls: HTTPS with the environ a
// WSGI app expects, client certificates (required and optional), a Unix listener beside a TLS
// one, the oldest TLS version accepted, every bad certificate setup stopping the start with
// exit 2, and certificates read again on SIGHUP. Certificates are made with `openssl`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type ConnectionOptions } from 'node:tls';
import { APPS, onPath, runCask, startCask, type RunningCask } from '../helpers/cask.js';
import { makeCerts, opensslMissing, type TestCerts } from '../helpers/tls.js';

const noOpenssl = opensslMissing();
const noCurl =
  noOpenssl ?? (onPath('curl') === undefined ? 'the curl command is not installed' : undefined);

interface Curled {
  /** curl's exit code: 0 when it got a response. */
  code: number;
  stdout: string;
  stderr: string;
}

function curl(args: string[]): Promise<Curled> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The echo app's environ, over HTTPS with curl as an HTTP/1.1 client. */
async function environOver(server: RunningCask, certs: TestCerts, more: string[] = []) {
  const url = `https://127.0.0.1:${server.port}/`;
  const result = await curl(['--http1.1', '--cacert', certs.ca, ...more, url]);
  assert.equal(result.code, 0, `curl failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { environ: Record<string, string> }).environ;
}

interface Handshake {
  /** The error code when the connection failed, else ''. */
  error: string;
  protocol: string | null;
  cipher: string;
  alpn: string | false | null;
  fingerprint: string;
}

/** One TLS connection with node:tls: what the server offered, or how it failed. */
function handshake(
  port: number,
  certs: TestCerts,
  options: ConnectionOptions = {},
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(certs.ca), ...options });
    socket.on('secureConnect', () => {
      resolve({
        error: '',
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        alpn: socket.alpnProtocol,
        fingerprint: socket.getPeerCertificate().fingerprint256,
      });
      socket.destroy();
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        error: error.code ?? error.message,
        protocol: null,
        cipher: '',
        alpn: false,
        fingerprint: '',
      }),
    );
  });
}

const fingerprint = (path: string): string =>
  new X509Certificate(readFileSync(path)).fingerprint256;

/** Starts the echo app with TLS; stopped by PID after the test. */
async function startTls(t: TestContext, args: string[]): Promise<RunningCask> {
  const server = await startCask(['echo:application', '--chdir', APPS, ...args]);
  t.after(() => server.stop());
  return server;
}

test(
  'an HTTPS listener gives the app wsgi.url_scheme https and HTTPS on; a Unix listener beside it stays plain',
  { skip: noCurl },
  async (t: TestContext) => {
    const certs = makeCerts(t);
    const socketPath = join(certs.dir, 'cask.sock');
    const server = await startTls(t, [
    '-b', '127.0.0.1:0', '-b', `unix:${socketPath}`,
    '--certfile', certs.cert, '--keyfile', certs.key,
    '--ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256',
  ]); // prettier-ignore
    assert.match(server.stderr(), /on https:\/\/127\.0\.0\.1:\d+, unix:/);
    assert.match(server.stderr(), /TLS certificate: CN=localhost \(serial [0-9A-F]+, expires /);

    const env = await environOver(server, certs);
    assert.deepEqual(
      [env['wsgi.url_scheme'], env.HTTPS, env.SSL_PROTOCOL, env.SSL_CLIENT_VERIFY, env.SERVER_PORT],
      ['https', 'on', 'TLSv1.3', 'NONE', String(server.port)],
    );
    assert.ok(env.SSL_CIPHER?.startsWith('TLS_'), env.SSL_CIPHER);
    assert.equal(env.SSL_CLIENT_S_DN, undefined);

    const plain = await curl(['--unix-socket', socketPath, 'http://localhost/']);
    assert.equal(plain.code, 0, plain.stderr);
    const unixEnv = (JSON.parse(plain.stdout) as { environ: Record<string, string> }).environ;
    assert.deepEqual(
      [unixEnv['wsgi.url_scheme'], unixEnv.HTTPS, unixEnv.SSL_PROTOCOL],
      ['http', undefined, undefined],
    );

    // HTTP/2 is offered first by ALPN, HTTP/1.1 to a client that asks for it alone.
    const h2 = await handshake(server.port, certs, { ALPNProtocols: ['h2', 'http/1.1'] });
    const h1 = await handshake(server.port, certs, { ALPNProtocols: ['http/1.1'] });
    assert.deepEqual([h2.alpn, h1.alpn], ['h2', 'http/1.1']);
    // --ciphers rules TLS 1.2; TLS 1.3 kept its own suites (curl above got one).
    const tls12 = await handshake(server.port, certs, { maxVersion: 'TLSv1.2' });
    assert.deepEqual([tls12.protocol, tls12.cipher], ['TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  },
);

test(
  'cert-reqs required: a client certificate signed by ca-certs gets in with SSL_CLIENT_S_DN; no certificate or an unknown CA fails the handshake',
  { skip: noCurl },
  async (t: TestContext) => {
    const certs = makeCerts(t);
    const server = await startTls(t, [
    '--certfile', certs.cert, '--keyfile', certs.key,
    '--ca-certs', certs.ca, '--cert-reqs', 'required', '--log-level', 'debug',
  ]); // prettier-ignore

    const env = await environOver(server, certs, [
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
    ]);
    assert.equal(env.SSL_CLIENT_VERIFY, 'SUCCESS');
    // A native string: the subject's UTF-8 bytes, one latin-1 character each (PEP 3333).
    const subject = Buffer.from(env.SSL_CLIENT_S_DN ?? '', 'latin1').toString('utf8');
    assert.equal(subject, 'CN=Zoë,O=Example\\, Inc.,C=FR');
    assert.equal(env.SSL_CLIENT_I_DN, 'CN=Cask Test CA');

    const url = `https://127.0.0.1:${server.port}/`;
    const without = await curl(['--http1.1', '--cacert', certs.ca, url]);
    const stranger = await curl([
      '--http1.1',
      '--cacert',
      certs.ca,
      '--cert',
      certs.strangerCert,
      '--key',
      certs.strangerKey,
      url,
    ]);
    assert.notEqual(without.code, 0, without.stdout);
    assert.notEqual(stranger.code, 0, stranger.stdout);
    await server.waitFor(/\[DEBUG\] TLS handshake failed from 127\.0\.0\.1: /);
    // The failed handshakes cost nothing else: the server still serves.
    const again = await environOver(server, certs, [
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
    ]);
    assert.equal(again.SSL_CLIENT_VERIFY, 'SUCCESS');
  },
);

test(
  'cert-reqs optional: a client without a certificate gets in as NONE, one with a valid certificate as SUCCESS, one with an unknown CA is refused',
  { skip: noCurl },
  async (t: TestContext) => {
    const certs = makeCerts(t);
    // The encrypted key and its password file, as a production setup keeps them.
    const server = await startTls(t, [
    '--certfile', certs.cert, '--keyfile', certs.encryptedKey,
    '--keyfile-password-file', certs.passwordFile,
    '--ca-certs', certs.ca, '--cert-reqs', 'optional',
  ]); // prettier-ignore

    const anonymous = await environOver(server, certs);
    assert.deepEqual([anonymous.SSL_CLIENT_VERIFY, anonymous.SSL_CLIENT_S_DN], ['NONE', undefined]);
    const known = await environOver(server, certs, [
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
    ]);
    assert.equal(known.SSL_CLIENT_VERIFY, 'SUCCESS');
    const stranger = await curl([
    '--http1.1', '--cacert', certs.ca, '--cert', certs.strangerCert, '--key', certs.strangerKey,
    `https://127.0.0.1:${server.port}/`,
  ]); // prettier-ignore
    assert.notEqual(stranger.code, 0, stranger.stdout);
  },
);

test(
  'a bad certificate setup stops the start with exit 2, naming the file and the problem',
  { skip: noOpenssl },
  async (t: TestContext) => {
    const certs = makeCerts(t);
    const broken = join(certs.dir, 'broken.key');
    writeFileSync(
      broken,
      '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n',
    );
    const wrong = join(certs.dir, 'wrong.txt');
    writeFileSync(wrong, 'battery staple\n');
    const absent = join(certs.dir, 'absent.pem');
    const cases: [string[], string][] = [
      [
        ['--certfile', certs.cert, '--keyfile', broken],
        `Invalid --keyfile ${broken}: malformed private key (`,
      ],
      [
        ['--certfile', certs.cert, '--keyfile', certs.renewedKey],
        `Invalid --keyfile ${certs.renewedKey}: it does not match the certificate in --certfile ${certs.cert}`,
      ],
      [
        ['--certfile', absent, '--keyfile', certs.key],
        `Cannot read --certfile ${absent}: no such file`,
      ],
      [
        [
          '--certfile',
          certs.cert,
          '--keyfile',
          certs.encryptedKey,
          '--keyfile-password-file',
          wrong,
        ],
        `Invalid --keyfile ${certs.encryptedKey}: wrong password in --keyfile-password-file ${wrong}`,
      ],
      [
        ['--certfile', certs.cert, '--keyfile', certs.encryptedKey],
        `Invalid --keyfile ${certs.encryptedKey}: the key is encrypted (give its password with --keyfile-password-file)`,
      ],
      [
        ['--certfile', certs.cert],
        `Missing option for TLS: --keyfile (--certfile is ${certs.cert})`,
      ],
    ];
    const runs = cases.map(([args]) =>
      runCask(['serve', 'echo:application', '--chdir', APPS, '-b', '127.0.0.1:0', ...args]),
    );
    for (const run of runs) t.after(() => run.stop());
    for (const [i, run] of runs.entries()) {
      const [, message] = cases[i] as [string[], string];
      assert.equal(await run.exited, 2, run.stderr());
      assert.ok(run.stderr().startsWith(`cask: ${message}`), run.stderr());
      // Nothing was bound and no worker started.
      assert.doesNotMatch(run.stderr(), /serving|Worker ready/);
    }
  },
);

test(
  'SIGHUP reads the certificates again: new connections get a renewed one, and a bad one leaves the old one serving',
  { skip: noCurl },
  async (t: TestContext) => {
    const certs = makeCerts(t);
    const cert = join(certs.dir, 'live.pem');
    const key = join(certs.dir, 'live.key');
    copyFileSync(certs.cert, cert);
    copyFileSync(certs.key, key);
    const server = await startTls(t, ['--certfile', cert, '--keyfile', key]);
    assert.equal((await handshake(server.port, certs)).fingerprint, fingerprint(certs.cert));

    copyFileSync(certs.renewedCert, cert);
    copyFileSync(certs.renewedKey, key);
    server.proc.kill('SIGHUP');
    await server.waitFor('Certificate reloaded: CN=renewed.localhost');
    assert.equal((await handshake(server.port, certs)).fingerprint, fingerprint(certs.renewedCert));
    assert.equal((await environOver(server, certs)).HTTPS, 'on');
    await server.waitFor('Reload complete: generation 2 serves');

    writeFileSync(cert, 'renewal went wrong\n');
    server.proc.kill('SIGHUP');
    await server.waitFor(
      `Certificate reload failed, still serving CN=renewed.localhost (serial ${new X509Certificate(readFileSync(certs.renewedCert)).serialNumber}`,
    );
    assert.match(
      server.stderr(),
      new RegExp(
        `: Invalid --certfile ${cert}: no PEM certificate in it \\(-----BEGIN CERTIFICATE-----\\) \\(CASK_CONFIG_INVALID\\)`,
      ),
    );
    assert.equal((await handshake(server.port, certs)).fingerprint, fingerprint(certs.renewedCert));
    assert.equal((await environOver(server, certs)).HTTPS, 'on');
    assert.equal(server.proc.exitCode, null);
  },
);

test(
  'tls-min-version 1.3 refuses a client limited to TLS 1.2',
  { skip: noOpenssl },
  async (t: TestContext) => {
    const certs = makeCerts(t);
    const server = await startTls(t, [
    '--certfile', certs.cert, '--keyfile', certs.key, '--tls-min-version', '1.3',
  ]); // prettier-ignore
    const old = await handshake(server.port, certs, { maxVersion: 'TLSv1.2' });
    assert.notEqual(old.error, '');
    const current = await handshake(server.port, certs);
    assert.deepEqual([current.error, current.protocol], ['', 'TLSv1.3']);
  },
);
