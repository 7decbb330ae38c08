// src/net/tls.ts without the CLI: which settings turn TLS on, how each bad file is reported,
// the options handed to tls.Server, the TLS facts read off a connection and the environ they
// become, and a reload over a loopback tls.Server. Certificates are made with `openssl`.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import {
  connect,
  createServer,
  type ConnectionOptions,
  type PeerCertificate,
  type TLSSocket,
} from 'node:tls';
import { ConfigError } from '../../src/errors.js';
import type { TlsInfo } from '../../src/exchange.js';
import {
  TlsTerminator,
  alpnProtocols,
  cipherList,
  loadTlsMaterial,
  readTlsInfo,
  rfc4514,
  tlsEnabled,
  type EnabledTlsSettings,
  type TlsSettings,
} from '../../src/net/tls.js';
import { buildEnviron, type EnvironContext } from '../../src/wsgi/environ.js';
import { makeCerts, opensslMissing, type TestCerts } from '../helpers/tls.js';

const skip = opensslMissing();

const NONE: TlsSettings = {
  certfile: null,
  keyfile: null,
  keyfilePasswordFile: null,
  caCerts: null,
  certReqs: 'none',
  ciphers: null,
  tlsMinVersion: '1.2',
  proxyProtocol: false,
};

function settings(certs: TestCerts, more: Partial<TlsSettings> = {}): EnabledTlsSettings {
  return { ...NONE, certfile: certs.cert, keyfile: certs.key, ...more } as EnabledTlsSettings;
}

/** The ConfigError message `run` throws. */
function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('No ConfigError was thrown');
}

const ALPN = ['h2', 'http/1.1'];

test('`tlsEnabled()` is false without a certificate and true with both files', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(tlsEnabled(NONE), false);
  t.assert.strictEqual(tlsEnabled({ ...NONE, certfile: '/c.pem', keyfile: '/k.pem' }), true);
});

test('`tlsEnabled()` refuses options that only make sense together', (t: TestContext) => {
  t.plan(6);
  t.assert.strictEqual(
    failure(() => tlsEnabled({ ...NONE, certfile: '/c.pem' })),
    'Missing option for TLS: --keyfile (--certfile is /c.pem)',
  );
  t.assert.strictEqual(
    failure(() => tlsEnabled({ ...NONE, keyfile: '/k.pem' })),
    'Missing option for TLS: --certfile (--keyfile is /k.pem)',
  );
  t.assert.strictEqual(
    failure(() => tlsEnabled({ ...NONE, caCerts: '/ca.pem', certReqs: 'required' })),
    'TLS options need --certfile and --keyfile: --ca-certs, --cert-reqs required given without them',
  );
  t.assert.match(
    failure(() => tlsEnabled({ ...NONE, tlsMinVersion: '1.3', ciphers: 'ECDHE' })),
    /--ciphers, --tls-min-version 1\.3 given without them$/,
  );
  const both = { ...NONE, certfile: '/c.pem', keyfile: '/k.pem' };
  t.assert.strictEqual(
    failure(() => tlsEnabled({ ...both, certReqs: 'optional' })),
    'Missing option for --cert-reqs optional: --ca-certs (the CA that signs client certificates)',
  );
  t.assert.match(
    failure(() => tlsEnabled({ ...both, proxyProtocol: true })),
    /^Cannot use --proxy-protocol with TLS listeners/,
  );
});

test('`alpnProtocols()` offers h2 first unless http is 1', (t: TestContext) => {
  t.plan(3);
  t.assert.deepStrictEqual(alpnProtocols(undefined), ['h2', 'http/1.1']);
  t.assert.deepStrictEqual(alpnProtocols('auto'), ['h2', 'http/1.1']);
  t.assert.deepStrictEqual(alpnProtocols('1'), ['http/1.1']);
});

test('`cipherList()` keeps the TLS 1.3 suites unless the list names some', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(cipherList(null), undefined);
  t.assert.match(cipherList('ECDHE+AESGCM') as string, /^TLS_AES_256_GCM_SHA384:.*:ECDHE\+AESGCM$/);
  t.assert.strictEqual(cipherList('TLS_AES_128_GCM_SHA256'), 'TLS_AES_128_GCM_SHA256');
});

test('`rfc4514()` writes the most specific RDN first and keeps the escapes', (t: TestContext) => {
  t.plan(2);
  t.assert.strictEqual(
    rfc4514('C=FR\nO=Example\\, Inc.\nCN=alice'),
    'CN=alice,O=Example\\, Inc.,C=FR',
  );
  t.assert.strictEqual(rfc4514(''), '');
});

test(
  '`loadTlsMaterial()` builds the server options from the settings',
  { skip },
  (t: TestContext) => {
    t.plan(7);
    const certs = makeCerts(t);
    const plain = loadTlsMaterial(settings(certs), ALPN).options;
    t.assert.strictEqual(plain.minVersion, 'TLSv1.2');
    t.assert.strictEqual(plain.requestCert, false);
    t.assert.deepStrictEqual(plain.ALPNProtocols, ALPN);
    const strict = loadTlsMaterial(
      settings(certs, { caCerts: certs.ca, certReqs: 'required', tlsMinVersion: '1.3' }),
      ['http/1.1'],
    ).options;
    t.assert.deepStrictEqual(
      [strict.minVersion, strict.requestCert, strict.rejectUnauthorized],
      ['TLSv1.3', true, true],
    );
    const optional = loadTlsMaterial(
      settings(certs, { caCerts: certs.ca, certReqs: 'optional' }),
      ALPN,
    );
    t.assert.deepStrictEqual(
      [optional.options.requestCert, optional.options.rejectUnauthorized],
      [true, false],
    );
    const encrypted = loadTlsMaterial(
      settings(certs, { keyfile: certs.encryptedKey, keyfilePasswordFile: certs.passwordFile }),
      ALPN,
    );
    t.assert.strictEqual(encrypted.options.passphrase, 'correct horse');
    t.assert.strictEqual(encrypted.certificate.subject, 'CN=localhost');
  },
);

test(
  '`loadTlsMaterial()` names the file and the problem for each bad input',
  { skip },
  (t: TestContext) => {
    const certs = makeCerts(t);
    const garbage = `${certs.dir}/garbage.pem`;
    writeFileSync(garbage, 'not a certificate\n');
    const broken = `${certs.dir}/broken.pem`;
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const wrong = `${certs.dir}/wrong.txt`;
    writeFileSync(wrong, 'wrong horse\n');
    const cases: [Partial<TlsSettings>, string | RegExp][] = [
      [
        { certfile: `${certs.dir}/absent.pem` },
        `Cannot read --certfile ${certs.dir}/absent.pem: no such file`,
      ],
      [{ keyfile: certs.dir }, `Cannot read --keyfile ${certs.dir}: is a directory`],
      [
        { certfile: garbage },
        `Invalid --certfile ${garbage}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`,
      ],
      [
        { certfile: broken },
        new RegExp(`^Invalid --certfile ${broken}: certificate 1 is malformed`),
      ],
      [
        { keyfile: certs.cert },
        `Invalid --keyfile ${certs.cert}: no PEM private key in it (-----BEGIN PRIVATE KEY-----)`,
      ],
      [
        { keyfile: certs.renewedKey },
        `Invalid --keyfile ${certs.renewedKey}: it does not match the certificate in --certfile ${certs.cert}`,
      ],
      [
        { keyfile: certs.encryptedKey },
        `Invalid --keyfile ${certs.encryptedKey}: the key is encrypted (give its password with --keyfile-password-file)`,
      ],
      [
        { keyfile: certs.encryptedKey, keyfilePasswordFile: wrong },
        // Anchored at the start only: a wrong password that decrypts to well-padded garbage
        // (about one in 200) also says the key may be damaged.
        new RegExp(
          `^Invalid --keyfile ${certs.encryptedKey}: wrong password in --keyfile-password-file ${wrong}`,
        ),
      ],
      [
        { keyfile: certs.encryptedKey, keyfilePasswordFile: `${certs.dir}/nope.txt` },
        `Cannot read --keyfile-password-file ${certs.dir}/nope.txt: no such file`,
      ],
      [
        { caCerts: garbage, certReqs: 'required' },
        `Invalid --ca-certs ${garbage}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`,
      ],
      [{ ciphers: 'NOT-A-CIPHER' }, 'Invalid value for --ciphers: "NOT-A-CIPHER" names no cipher'],
    ];
    t.plan(cases.length);
    for (const [more, expected] of cases) {
      const message = failure(() => loadTlsMaterial(settings(certs, more), ALPN));
      if (typeof expected === 'string') t.assert.strictEqual(message, expected);
      else t.assert.match(message, expected);
    }
  },
);

test(
  'a wrong password that decrypts to well-padded garbage is named as a wrong password too',
  { skip },
  (t: TestContext) => {
    // About one wrong password in 200 gets past OpenSSL's padding check; try wrong ones until
    // one does (5,000 tries leave a chance of about 1e-10 of finding none), so that the test
    // sees that case every time instead of once in 200 runs.
    const certs = makeCerts(t);
    const file = `${certs.dir}/wrong-password.txt`;
    const messages = new Set<string>();
    for (let i = 0; i < 5000 && messages.size < 2; i++) {
      writeFileSync(file, `wrong ${i}\n`);
      const message = failure(() =>
        loadTlsMaterial(
          settings(certs, { keyfile: certs.encryptedKey, keyfilePasswordFile: file }),
          ALPN,
        ),
      );
      messages.add(message.replace(/ \(.*\)$/, ' (REASON)'));
    }
    const wrong = `Invalid --keyfile ${certs.encryptedKey}: wrong password in --keyfile-password-file ${file}`;
    t.assert.deepStrictEqual([...messages].sort(), [
      wrong,
      `${wrong}, or the key is damaged (REASON)`,
    ]);
  },
);

interface Served {
  port: number;
  /** The TlsInfo of each connection the server accepted, in order. */
  infos: TlsInfo[];
}

/** A loopback tls.Server set up as the listener sets one up, answering each socket with "ok". */
async function serveTls(t: TestContext, terminator: TlsTerminator): Promise<Served> {
  const infos: TlsInfo[] = [];
  const server = createServer(terminator.serverOptions());
  terminator.attach(server);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (!terminator.admit(socket)) return;
    infos.push(readTlsInfo(socket));
    socket.end('ok');
  });
  server.on('tlsClientError', (error: Error, socket: TLSSocket) =>
    terminator.handshakeFailed(error, socket),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { port: (server.address() as AddressInfo).port, infos };
}

interface Reached {
  /** What the server sent, or the error that ended the connection. */
  outcome: string;
  peer: PeerCertificate;
  alpn: string | false | null;
}

function reach(port: number, options: ConnectionOptions = {}): Promise<Reached> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    let peer = {} as PeerCertificate;
    let alpn: string | false | null = false;
    let data = '';
    socket.on('secureConnect', () => {
      peer = socket.getPeerCertificate();
      alpn = socket.alpnProtocol;
    });
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ outcome: error.code ?? error.message, peer, alpn }),
    );
    socket.on('close', () => resolve({ outcome: data, peer, alpn }));
  });
}

function quietLogger(lines: string[]): {
  debug(m: string): void;
  info(m: string): void;
  error(m: string): void;
} {
  return {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

test(
  '`readTlsInfo()` reports a verified client certificate, and NONE without one',
  { skip },
  async (t: TestContext) => {
    t.plan(5);
    const certs = makeCerts(t);
    const lines: string[] = [];
    const terminator = new TlsTerminator(
      settings(certs, { caCerts: certs.ca, certReqs: 'optional' }),
      ALPN,
      quietLogger(lines),
      5000,
    );
    const { port, infos } = await serveTls(t, terminator);
    const withCert = await reach(port, {
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      ALPNProtocols: ['http/1.1'],
    });
    const without = await reach(port, { maxVersion: 'TLSv1.2' });
    const stranger = await reach(port, {
      cert: readFileSync(certs.strangerCert),
      key: readFileSync(certs.strangerKey),
    });
    t.assert.deepStrictEqual(
      [withCert.outcome, withCert.alpn, without.outcome],
      ['ok', 'http/1.1', 'ok'],
    );
    t.assert.deepStrictEqual(infos[0], {
      protocol: 'TLSv1.3',
      cipher: infos[0]?.cipher,
      clientVerify: 'SUCCESS',
      clientSubject: 'CN=Zoë,O=Example\\, Inc.,C=FR',
      clientIssuer: 'CN=Cask Test CA',
    });
    t.assert.deepStrictEqual(
      { ...infos[1], cipher: '' },
      {
        protocol: 'TLSv1.2',
        cipher: '',
        clientVerify: 'NONE',
        clientSubject: '',
        clientIssuer: '',
      },
    );
    // A certificate from an unknown CA is refused even though certificates are optional.
    t.assert.notStrictEqual(stranger.outcome, 'ok');
    t.assert.ok(
      lines.some((l) =>
        /^debug TLS handshake failed from 127\.0\.0\.1: client certificate not accepted/.test(l),
      ),
      lines.join('\n'),
    );
  },
);

test(
  '`TlsTerminator.reload()` serves a renewed certificate and keeps the old one when the new is bad',
  { skip },
  async (t: TestContext) => {
    t.plan(6);
    const certs = makeCerts(t);
    const lines: string[] = [];
    // The files the server is configured with, replaced under it as a renewal would.
    const cert = `${certs.dir}/live.pem`;
    const key = `${certs.dir}/live.key`;
    copyFileSync(certs.cert, cert);
    copyFileSync(certs.key, key);
    const terminator = new TlsTerminator(
      { ...NONE, certfile: cert, keyfile: key } as EnabledTlsSettings,
      ALPN,
      quietLogger(lines),
      5000,
    );
    const { port } = await serveTls(t, terminator);
    t.assert.strictEqual((await reach(port)).peer.subject.CN, 'localhost');

    copyFileSync(certs.renewedCert, cert);
    copyFileSync(certs.renewedKey, key);
    t.assert.strictEqual(terminator.reload(), true);
    t.assert.strictEqual((await reach(port)).peer.subject.CN, 'renewed.localhost');

    // Half a renewal: the new certificate with the old key.
    copyFileSync(certs.cert, cert);
    t.assert.strictEqual(terminator.reload(), false);
    t.assert.strictEqual((await reach(port)).peer.subject.CN, 'renewed.localhost');
    t.assert.match(
      lines.at(-1) as string,
      /^error Certificate reload failed, still serving CN=renewed\.localhost \(serial [0-9A-F]+, expires .+\): Invalid --keyfile .*live\.key: it does not match the certificate in --certfile .*live\.pem \(CASK_CONFIG_INVALID\)$/,
    );
  },
);

const ENVIRON: EnvironContext = {
  scheme: 'https',
  serverName: '127.0.0.1',
  serverPort: '8443',
  remoteAddr: '10.0.0.2',
  remotePort: '5555',
  rootPath: '',
  trustForwarded: false,
  isTrustedProxy: () => false,
};

const HEAD = {
  method: 'GET',
  target: '/',
  protocol: 'HTTP/1.1',
  headers: ['Host', 'example.com'],
  host: 'example.com',
  contentLength: -1,
  chunked: false,
};

function environ(tls: TlsInfo | undefined): Map<string, string> {
  const pairs = buildEnviron(HEAD, -1, { ...ENVIRON, tls });
  const env = new Map<string, string>();
  for (let i = 0; i < pairs.length; i += 2) env.set(pairs[i] as string, pairs[i + 1] as string);
  return env;
}

test('`buildEnviron()` adds HTTPS and the SSL_ variables for a TLS connection', (t: TestContext) => {
  t.plan(4);
  const verified: TlsInfo = {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_128_GCM_SHA256',
    clientVerify: 'SUCCESS',
    clientSubject: 'CN=Zoë,O=Example\\, Inc.,C=FR',
    clientIssuer: 'CN=Cask Test CA',
  };
  const env = environ(verified);
  t.assert.deepStrictEqual(
    ['HTTPS', 'SSL_PROTOCOL', 'SSL_CIPHER', 'SSL_CLIENT_VERIFY', 'SSL_CLIENT_I_DN'].map((k) =>
      env.get(k),
    ),
    ['on', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'SUCCESS', 'CN=Cask Test CA'],
  );
  // A native string (PEP 3333): the UTF-8 bytes, one latin-1 character each.
  t.assert.strictEqual(
    Buffer.from(env.get('SSL_CLIENT_S_DN') as string, 'latin1').toString('utf8'),
    'CN=Zoë,O=Example\\, Inc.,C=FR',
  );
  const anonymous = environ({
    ...verified,
    clientVerify: 'NONE',
    clientSubject: '',
    clientIssuer: '',
  });
  t.assert.deepStrictEqual(
    [
      anonymous.get('SSL_CLIENT_VERIFY'),
      anonymous.has('SSL_CLIENT_S_DN'),
      anonymous.has('SSL_CLIENT_I_DN'),
    ],
    ['NONE', false, false],
  );
  const plain = environ(undefined);
  t.assert.deepStrictEqual(
    [...plain.keys()].filter((k) => k === 'HTTPS' || k.startsWith('SSL_')),
    [],
  );
});
