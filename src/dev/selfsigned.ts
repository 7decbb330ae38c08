// `--tls self-signed`: HTTPS on a development machine without any certificate at hand. A
// certificate for localhost, 127.0.0.1 and ::1 is made once with openssl (ECDSA P-256, valid
// 825 days, the longest browsers accept) and kept in the user's cache folder, so that a
// browser or system told to trust it (docs/development.md) goes on trusting it across
// restarts. It is made again when it is about to expire or cannot be read.

import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { ConfigError } from '../errors.js';

const DAYS = 825;
/** A certificate that expires sooner than this is made again. */
const RENEW_MS = 7 * 24 * 3600 * 1000;

export interface SelfSigned {
  readonly certfile: string;
  readonly keyfile: string;
  /** It was made now (not found in the cache). */
  readonly made: boolean;
}

export function cacheFolder(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'cask', 'tls-localhost');
}

function usable(certfile: string, keyfile: string): boolean {
  if (!existsSync(certfile) || !existsSync(keyfile)) return false;
  try {
    const cert = new X509Certificate(readFileSync(certfile));
    return Date.parse(cert.validTo) - Date.now() > RENEW_MS;
  } catch {
    return false;
  }
}

/** The certificate and key in `folder`, made with openssl when missing or expiring. */
export function ensureSelfSigned(folder: string, openssl = 'openssl'): SelfSigned {
  const certfile = join(folder, 'cert.pem');
  const keyfile = join(folder, 'key.pem');
  if (usable(certfile, keyfile)) return { certfile, keyfile, made: false };
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const made = spawnSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(DAYS),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature',
      '-addext',
      'extendedKeyUsage=serverAuth',
      '-keyout',
      keyfile,
      '-out',
      certfile,
    ],
    { encoding: 'utf8' },
  );
  if (made.error !== undefined || made.status !== 0) {
    const why =
      made.error !== undefined ? made.error.message : made.stderr.trim().split('\n').at(-1);
    throw new ConfigError(
      `Cannot make the self-signed certificate for --tls self-signed: ${openssl} failed (${why}); install openssl or give --certfile and --keyfile`,
    );
  }
  chmodSync(keyfile, 0o600);
  return { certfile, keyfile, made: true };
}

/** The config with `--tls self-signed` turned into certfile and keyfile. */
export function selfSignedTls(config: Config): { config: Config; made?: SelfSigned } {
  if (config.tls !== 'self-signed') return { config };
  if (config.certfile !== null || config.keyfile !== null) {
    throw new ConfigError(
      'Conflicting options: --tls self-signed makes its own certificate; drop it or --certfile and --keyfile',
    );
  }
  const made = ensureSelfSigned(cacheFolder());
  return { config: { ...config, certfile: made.certfile, keyfile: made.keyfile }, made };
}
