// X-Sendfile and X-Accel-Redirect (`--sendfile-root DIR`): an app answers with a header naming
// a file, and the front sends the file in place of the app's body, with the conditional and
// Range rules of a static file. The gateway hands the app's head here; this module answers
// through the exchange's sink alone, so the gateway stays transport-neutral.
//
//   X-Sendfile: /srv/private/report.pdf       an absolute file system path (Apache mod_xsendfile,
//                                              Flask's USE_X_SENDFILE, Django's FileResponse
//                                              helpers) — it must be inside DIR
//   X-Accel-Redirect: /private/report.pdf     a URL path, resolved under DIR as if DIR were
//                                              mounted at `/` (percent-decoded, nginx's form)
//
// The header never reaches the client. A path outside DIR (after `..` and symlinks are
// resolved) is a 500 with `CASK_SENDFILE` in the error log, and so is a name that is not a
// regular file (a directory, a FIFO, a device); a missing file is a 404.

import { closeSync, fstatSync, realpathSync } from 'node:fs';
import { openWithoutWaiting } from './open-file.js';
import { resolve } from 'node:path';
import type { Exchange } from '../exchange.js';
import type { Logger } from '../log.js';
import { etagOf, parseHttpDate, type Validators } from './conditional.js';
import { contentTypeOf } from './headers.js';
import { isInside, pathOfTarget, resolvePath } from './resolve.js';
import { realPathOf } from './real-path.js';
import { sendFile } from './send.js';

/** App headers dropped from an offloaded response: the front frames the file itself. */
const FRAMING = new Set([
  'content-length',
  'content-range',
  'accept-ranges',
  'transfer-encoding',
  'x-sendfile',
  'x-accel-redirect',
]);

export class SendfileOffload {
  readonly root: string;
  private readonly real: string;

  constructor(
    root: string,
    private readonly logger: Logger,
  ) {
    this.root = resolve(root);
    this.real = realpathSync(root);
  }

  /** Whether the app's head asks for a file (a quick scan; most heads do not). */
  wants(headers: readonly string[]): boolean {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length !== 10 && name.length !== 16) continue;
      const lower = name.toLowerCase();
      if (lower === 'x-sendfile' || lower === 'x-accel-redirect') return true;
    }
    return false;
  }

  /** Answers the exchange with the file the app's head names, in place of the app's body. */
  serve(exchange: Exchange, status: string, headers: readonly string[]): void {
    let sendfile: string | undefined;
    let accel: string | undefined;
    let type: string | undefined;
    let etag: string | undefined;
    let lastModified: number | undefined;
    const kept: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      const lower = name.toLowerCase();
      if (lower === 'x-sendfile') sendfile = value;
      else if (lower === 'x-accel-redirect') accel = value;
      if (FRAMING.has(lower)) continue;
      // The app's own validators win (it may have computed them its way, as werkzeug does).
      if (lower === 'etag') etag = value;
      else if (lower === 'last-modified') lastModified = parseHttpDate(value);
      else {
        if (lower === 'content-type') type = value;
        kept.push(name, value);
      }
    }
    const named = sendfile ?? accel ?? '';
    const path = sendfile !== undefined ? this.fromPath(sendfile) : this.fromUri(accel ?? '');
    if (path === undefined) {
      this.refuse(exchange, `names a file outside --sendfile-root ${this.root}`, named);
      return;
    }
    let fd: number;
    try {
      // The fstat below refuses whatever is not a regular file.
      fd = openWithoutWaiting(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.logger.error(
        `Cannot send the file the app named (CASK_SENDFILE): ${JSON.stringify(named)}: ${code ?? (error as Error).message}`,
      );
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        exchange.response.head(
          '404 Not Found',
          ['Content-Type', 'text/plain; charset=utf-8'],
          Buffer.from('Not Found\n'),
          true,
        );
      } else exchange.response.fail(500);
      return;
    }
    let stat;
    try {
      stat = fstatSync(fd);
      if (!stat.isFile() || !isInside(this.real, realPathOf(fd, path))) {
        closeSync(fd);
        this.refuse(exchange, `is not a file inside --sendfile-root ${this.root}`, named);
        return;
      }
    } catch (error) {
      closeSync(fd);
      this.refuse(exchange, (error as Error).message, named);
      return;
    }
    const contentType = type ?? contentTypeOf(path);
    if (type === undefined) kept.unshift('Content-Type', contentType);
    const validators: Validators = {
      etag: etag ?? etagOf(stat),
      lastModified: lastModified ?? Math.floor(stat.mtimeMs / 1000),
    };
    const code = Number.parseInt(status, 10);
    // A werkzeug app may have answered the Range itself (206): the front does it again from
    // the request, on the whole file. Other statuses (an error page) are sent as they are.
    const full = code === 200 || code === 206;
    sendFile(
      exchange,
      { fd, size: stat.size, close: closeSync },
      {
        status: full ? '200 OK' : status,
        headers: kept,
        type: contentType,
        validators,
        conditional: full,
      },
    );
  }

  /** An absolute path, normalised; undefined unless it is under the root. */
  private fromPath(value: string): string | undefined {
    if (!value.startsWith('/') || value.includes('\0')) return undefined;
    const path = resolve(value);
    return isInside(this.root, path) || isInside(this.real, path) ? path : undefined;
  }

  /** A URL path resolved under the root with the static files' rules (dotfiles allowed). */
  private fromUri(value: string): string | undefined {
    const target = pathOfTarget(value.trim());
    if (target === undefined) return undefined;
    const resolved = resolvePath(target.path, { dotfiles: true });
    if (resolved.kind === 'refused' || resolved.segments.length === 0) return undefined;
    return `${this.root}/${resolved.segments.join('/')}`;
  }

  private refuse(exchange: Exchange, why: string, named: string): void {
    this.logger.error(
      `Refused the file the app named (CASK_SENDFILE): ${JSON.stringify(named)} ${why}`,
    );
    exchange.response.fail(500);
  }
}
