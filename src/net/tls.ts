// TLS termination (docs/tls-http2.md): which settings turn it on, the certificate material
// read from disk and checked piece by piece, the tls.Server options built from it, the
// per-connection facts a transport hands to the environ, and the certificates read again on
// SIGHUP.
//
// Why check the pieces one by one before OpenSSL sees them: handed the whole set at once,
// OpenSSL answers "key values mismatch" or "no start line" without saying which file. Each
// step below names the file and the option, and everything runs before a socket is bound or
// a worker started, so a bad certificate stops the start with exit 2 like any bad setting.
//
//   certfile ──read──▶ PEM blocks? ──X509Certificate──┐
//   keyfile  ──read──▶ PEM key? ──createPrivateKey(password)──┴─▶ checkPrivateKey ─┐
//   ca-certs ──read──▶ every CERTIFICATE block parses ─────────────────────────────┤
//   ciphers, tls-min-version ──────────────────────────────────▶ createSecureContext ─▶ options

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_CIPHERS,
  createSecureContext,
  type Server as TlsServer,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import type { Config } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { TlsInfo } from '../exchange.js';

export type TlsSettings = Pick<
  Config,
  | 'certfile'
  | 'keyfile'
  | 'keyfilePasswordFile'
  | 'caCerts'
  | 'certReqs'
  | 'ciphers'
  | 'tlsMinVersion'
  | 'proxyProtocol'
>;

/** The settings of a start with TLS on: both files are known. */
export type EnabledTlsSettings = TlsSettings & {
  readonly certfile: string;
  readonly keyfile: string;
};

export type ReadFile = (path: string) => Buffer;

/**
 * The protocols offered in the handshake (ALPN, RFC 7301), most preferred first. The one place
 * this list is decided: `http = "1"` offers HTTP/1.1 alone; otherwise HTTP/2 comes first, and
 * the front reads the choice from `socket.alpnProtocol`. A client that offers no ALPN at all
 * speaks HTTP/1.1.
 */
export function alpnProtocols(http: string | undefined): string[] {
  return http === '1' ? ['http/1.1'] : ['h2', 'http/1.1'];
}

/**
 * Whether TLS is on, with the settings narrowed. Throws ConfigError for options that only make
 * sense together: a TLS option given without a certificate would otherwise be silently
 * ignored, and a plain listener would serve what its operator believed was protected.
 */
export function tlsEnabled(settings: TlsSettings): settings is EnabledTlsSettings {
  const { certfile, keyfile } = settings;
  if (certfile !== null && keyfile === null)
    throw new ConfigError(`Missing option for TLS: --keyfile (--certfile is ${certfile})`);
  if (keyfile !== null && certfile === null)
    throw new ConfigError(`Missing option for TLS: --certfile (--keyfile is ${keyfile})`);
  if (certfile === null) {
    const stray = [
      settings.keyfilePasswordFile !== null ? '--keyfile-password-file' : '',
      settings.caCerts !== null ? '--ca-certs' : '',
      settings.certReqs !== 'none' ? `--cert-reqs ${settings.certReqs}` : '',
      settings.ciphers !== null ? '--ciphers' : '',
      settings.tlsMinVersion !== '1.2' ? `--tls-min-version ${settings.tlsMinVersion}` : '',
    ].filter((s) => s !== '');
    if (stray.length > 0)
      throw new ConfigError(
        `TLS options need --certfile and --keyfile: ${stray.join(', ')} given without them`,
      );
    return false;
  }
  if (settings.certReqs !== 'none' && settings.caCerts === null)
    throw new ConfigError(
      `Missing option for --cert-reqs ${settings.certReqs}: --ca-certs (the CA that signs client certificates)`,
    );
  if (settings.proxyProtocol)
    // The PROXY header comes before the TLS handshake, on the raw socket, where this
    // listener does not look for it: every connection would fail.
    throw new ConfigError(
      'Cannot use --proxy-protocol with TLS listeners: terminate TLS at the proxy, or pass it through without a PROXY header',
    );
  return true;
}

/** `ENOENT` -> words, for "Cannot read --certfile /x: no such file". */
function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (error as Error).message;
}

/** OpenSSL's "error:0480006C:PEM routines::no start line" -> "no start line". */
function opensslReason(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  const message = (error as Error).message;
  return message.replace(/^error:[0-9A-Fa-f]+:[^:]*:[^:]*:/, '');
}

function readOption(option: string, path: string, readFile: ReadFile): Buffer {
  try {
    return readFile(path);
  } catch (error) {
    throw new ConfigError(`Cannot read ${option} ${path}: ${readProblem(error)}`);
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Every certificate of a PEM file, parsed; ConfigError naming the file when one is bad. */
function parseCertificates(option: string, path: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(CERT_BLOCK) ?? [];
  if (blocks.length === 0)
    throw new ConfigError(
      `Invalid ${option} ${path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`,
    );
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new ConfigError(
        `Invalid ${option} ${path}: certificate ${i + 1} is malformed (${opensslReason(error)})`,
      );
    }
  });
}

/** The password file's first line: editors add a final newline, passwords never hold one. */
function readPassword(path: string, readFile: ReadFile): string {
  const text = readOption('--keyfile-password-file', path, readFile).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

function parseKey(
  settings: EnabledTlsSettings,
  pem: Buffer,
  passphrase: string | undefined,
): KeyObject {
  const path = settings.keyfile;
  const text = pem.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new ConfigError(
      `Invalid --keyfile ${path}: no PEM private key in it (-----BEGIN PRIVATE KEY-----)`,
    );
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
  if (encrypted && passphrase === undefined)
    throw new ConfigError(
      `Invalid --keyfile ${path}: the key is encrypted (give its password with --keyfile-password-file)`,
    );
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const wrong = `Invalid --keyfile ${path}: wrong password in --keyfile-password-file ${String(settings.keyfilePasswordFile)}`;
    if (encrypted && code === 'ERR_OSSL_BAD_DECRYPT') throw new ConfigError(wrong);
    // About one wrong password in 200 decrypts to bytes whose padding looks right, and the
    // error is then the parser's on that garbage (ERR_OSSL_UNSUPPORTED, measured: 14 of
    // 3,000): OpenSSL cannot tell that from a damaged key, so the message names both.
    if (encrypted && passphrase !== undefined)
      throw new ConfigError(`${wrong}, or the key is damaged (${opensslReason(error)})`);
    throw new ConfigError(
      `Invalid --keyfile ${path}: malformed private key (${opensslReason(error)})`,
    );
  }
}

/**
 * TLS 1.3 suites are named with their `TLS_` names in the same list (Node's rule), and a list
 * without any turns TLS 1.3 off. gunicorn's `ciphers` (Python's `set_ciphers`) never touches
 * TLS 1.3, so a list copied from it keeps the default 1.3 suites here too.
 */
export function cipherList(ciphers: string | null): string | undefined {
  if (ciphers === null) return undefined;
  const names = ciphers.split(':').map((c) => c.trim());
  if (names.some((c) => c.startsWith('TLS_'))) return ciphers;
  const tls13 = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
  return [...tls13, ...names].join(':');
}

/** What a start (or a reload) read from disk: the tls.Server options and the certificate. */
export interface TlsMaterial {
  /** For tls.createServer() and server.setSecureContext(). */
  readonly options: TlsOptions;
  /** The server's own certificate (the first of certfile), for the log. */
  readonly certificate: X509Certificate;
}

/**
 * Reads and checks every file the settings name and builds the tls.Server options, ALPN and
 * client certificates included. Throws ConfigError naming the file and the problem.
 */
export function loadTlsMaterial(
  settings: EnabledTlsSettings,
  alpn: readonly string[],
  readFile: ReadFile = readFileSync,
): TlsMaterial {
  const cert = readOption('--certfile', settings.certfile, readFile);
  const key = readOption('--keyfile', settings.keyfile, readFile);
  const passphrase =
    settings.keyfilePasswordFile === null
      ? undefined
      : readPassword(settings.keyfilePasswordFile, readFile);
  const ca =
    settings.caCerts === null ? undefined : readOption('--ca-certs', settings.caCerts, readFile);

  const [certificate] = parseCertificates('--certfile', settings.certfile, cert) as [
    X509Certificate,
  ];
  const privateKey = parseKey(settings, key, passphrase);
  if (!certificate.checkPrivateKey(privateKey))
    throw new ConfigError(
      `Invalid --keyfile ${settings.keyfile}: it does not match the certificate in --certfile ${settings.certfile}`,
    );
  if (ca !== undefined) parseCertificates('--ca-certs', settings.caCerts as string, ca);

  const options: TlsOptions = {
    cert,
    key,
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(ca === undefined ? {} : { ca }),
    ...(settings.ciphers === null ? {} : { ciphers: cipherList(settings.ciphers) }),
    minVersion: settings.tlsMinVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
    requestCert: settings.certReqs !== 'none',
    rejectUnauthorized: settings.certReqs === 'required',
    ALPNProtocols: [...alpn],
  };
  try {
    createSecureContext(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_SSL_NO_CIPHER_MATCH' || code === 'ERR_INVALID_ARG_VALUE')
      throw new ConfigError(`Invalid value for --ciphers: "${settings.ciphers}" names no cipher`);
    throw new ConfigError(
      `Cannot use --certfile ${settings.certfile} with --keyfile ${settings.keyfile}: ${opensslReason(error)}`,
    );
  }
  return { options, certificate };
}

/** Node's one-RDN-per-line subject ("C=FR\nO=Example\, Inc.\nCN=alice") -> RFC 4514. */
export function rfc4514(multiline: string): string {
  // Node prints values escaped as RFC 2253 asks (ASN1_STRFLGS_ESC_2253) and control characters
  // as \XX, so a newline only ever separates RDNs; RFC 4514 writes the last RDN first.
  return multiline === '' ? '' : multiline.split('\n').reverse().join(',');
}

/** The TLS facts of a connection, read once when it starts (see TlsInfo in exchange.ts). */
export function readTlsInfo(socket: TLSSocket): TlsInfo {
  // `authorized` is true only for a certificate that was asked for and verified.
  const peer = socket.authorized ? socket.getPeerX509Certificate() : undefined;
  return {
    protocol: socket.getProtocol() ?? '',
    cipher: socket.getCipher()?.name ?? '',
    clientVerify: peer === undefined ? 'NONE' : 'SUCCESS',
    clientSubject: peer === undefined ? '' : rfc4514(peer.subject),
    clientIssuer: peer === undefined ? '' : rfc4514(peer.issuer),
  };
}

/**
 * Why a handshaken connection is refused, or undefined to admit it. With `cert-reqs optional`
 * OpenSSL admits a client whose certificate failed to verify; like Python's CERT_OPTIONAL
 * (gunicorn) and mod_ssl's `SSLVerifyClient optional`, such a client is refused: only one
 * that sent no certificate at all is let in, as NONE.
 */
export function clientCertificateRefusal(socket: TLSSocket): string | undefined {
  if (socket.authorized || socket.getPeerX509Certificate() === undefined) return undefined;
  return `client certificate not accepted (${String(socket.authorizationError)})`;
}

function describe(certificate: X509Certificate): string {
  return `${rfc4514(certificate.subject)} (serial ${certificate.serialNumber}, expires ${certificate.validTo})`;
}

export interface TlsLogger {
  debug(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

/**
 * The TLS side of the running server: the options every TLS listener is created with, the
 * listeners themselves (so a reload reaches them), and the handshake failures.
 */
export class TlsTerminator {
  /** Handshakes that failed, and clients refused for a certificate that did not verify. */
  handshakeFailures = 0;
  private material: TlsMaterial;
  private readonly servers = new Set<TlsServer>();

  /** Reads the certificates; throws ConfigError when they cannot be used. */
  constructor(
    private readonly settings: EnabledTlsSettings,
    private readonly alpn: readonly string[],
    private readonly logger: TlsLogger,
    /** How long a handshake may take (ms): the header timeout, as it is a slowloris too. */
    private readonly handshakeTimeout: number,
    private readonly readFile: ReadFile = readFileSync,
  ) {
    this.material = loadTlsMaterial(settings, alpn, readFile);
  }

  /** The certificate in use, for the log. */
  get certificate(): string {
    return describe(this.material.certificate);
  }

  /** Options for tls.createServer(). */
  serverOptions(): TlsOptions {
    return { ...this.material.options, handshakeTimeout: this.handshakeTimeout };
  }

  /** A listener's server: it gets the new certificates on reload until it closes. */
  attach(server: TlsServer): void {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
  }

  /** A handshake is done: true to hand the socket on, false when it was refused (and cut). */
  admit(socket: TLSSocket): boolean {
    const refusal = clientCertificateRefusal(socket);
    if (refusal === undefined) return true;
    this.failed(refusal, socket.remoteAddress);
    socket.destroy();
    return false;
  }

  /** tls.Server's 'tlsClientError': a scanner, an old client or a bad certificate. */
  handshakeFailed(error: Error, socket: TLSSocket): void {
    this.failed(opensslReason(error), socket.remoteAddress);
    socket.destroy();
  }

  /**
   * SIGHUP: read the files again and give every listener the new context; connections already
   * open keep the old one. If the new files cannot be used, say why and keep the old ones.
   */
  reload(): boolean {
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial(this.settings, this.alpn, this.readFile);
    } catch (error) {
      this.logger.error(
        `Certificate reload failed, still serving ${this.certificate}: ${(error as Error).message} (CASK_CONFIG_INVALID)`,
      );
      return false;
    }
    this.material = material;
    for (const server of this.servers) server.setSecureContext(this.serverOptions());
    this.logger.info(`Certificate reloaded: ${this.certificate}`);
    return true;
  }

  private failed(reason: string, remoteAddr: string | undefined): void {
    this.handshakeFailures++;
    this.logger.debug(`TLS handshake failed from ${remoteAddr ?? 'a client'}: ${reason}`);
  }
}
