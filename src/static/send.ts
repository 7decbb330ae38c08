// Private to src/static: answers an exchange with an open file, applying the conditional and
// Range rules, through the exchange's response sink alone (head, data, file), so it works the
// same over every transport. Used by the static route and by X-Sendfile offload.
//
//   preconditions (conditional.ts) ──304/412──▶ head only, file closed
//        │ proceed
//   Range on GET, If-Range allows (range.ts)
//        ├─ unsatisfiable ─▶ 416, Content-Range: bytes */size
//        ├─ one range     ─▶ 206, head + file(fd, start, length)
//        ├─ several       ─▶ 206 multipart/byteranges: data(part head) + file(range), …
//        └─ none          ─▶ 200, head + file(fd, 0, size)   (small files: one head with body)

import { randomBytes } from 'node:crypto';
import { readSync } from 'node:fs';
import type { Exchange } from '../exchange.js';
import { evaluatePreconditions, type Validators } from './conditional.js';
import { fieldOf } from './headers.js';
import { contentRange, ifRangeAllows, multipartPlan, parseRange, resolveRanges } from './range.js';

/**
 * Files up to this size are read at once and sent with the head in one write: a read from the
 * page cache costs microseconds, a streamed read a thread-pool round trip and a second write.
 */
export const SMALL_FILE = 64 * 1024;

/** An open file and what its response needs to know. */
export interface FileToSend {
  readonly fd: number;
  readonly size: number;
  /** Called once the file is no longer needed (sent, refused or the response cut). */
  readonly close: (fd: number) => void;
  /** The whole content, already read (a small file the file table holds). */
  readonly body?: Buffer | undefined;
  /** Told the whole content of a small file once read, to keep it for the next response. */
  readonly keep?: ((body: Buffer) => void) | undefined;
}

export interface SendOptions {
  /** The status of a full response: `200 OK`, or the app's own for X-Sendfile. */
  readonly status: string;
  /** Everything but the framing and validators: Content-Type, Cache-Control, Vary, … */
  readonly headers: readonly string[];
  /** The representation's Content-Type, repeated in each part of a multipart response. */
  readonly type: string;
  readonly validators: Validators;
  /** `validators.lastModified` as an HTTP date, when the caller has it already. */
  readonly lastModifiedText?: string | undefined;
  /** Apply If-* and Range (only a 200 response has them apply). */
  readonly conditional: boolean;
}

/** Headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5). */
const KEPT_ON_304 = new Set(['cache-control', 'content-location', 'expires', 'vary']);

export function sendFile(exchange: Exchange, file: FileToSend, options: SendOptions): void {
  const { request, response } = exchange;
  const { validators } = options;
  const h = request.headers;
  const lastModified =
    options.lastModifiedText ?? new Date(validators.lastModified * 1000).toUTCString();
  const validatorHeaders = ['ETag', validators.etag, 'Last-Modified', lastModified];

  if (options.conditional) {
    const precondition = evaluatePreconditions(
      request.method,
      {
        ifMatch: fieldOf(h, 'if-match'),
        ifNoneMatch: fieldOf(h, 'if-none-match'),
        ifModifiedSince: fieldOf(h, 'if-modified-since'),
        ifUnmodifiedSince: fieldOf(h, 'if-unmodified-since'),
      },
      validators,
    );
    if (precondition !== 'proceed') {
      file.close(file.fd);
      if (precondition === 'not-modified') {
        const kept: string[] = [...validatorHeaders];
        for (let i = 0; i < options.headers.length; i += 2) {
          const name = options.headers[i] as string;
          if (KEPT_ON_304.has(name.toLowerCase()))
            kept.push(name, options.headers[i + 1] as string);
        }
        response.head('304 Not Modified', kept, Buffer.alloc(0), true);
      } else {
        response.head('412 Precondition Failed', ['Content-Length', '0'], Buffer.alloc(0), true);
      }
      return;
    }
  }

  const size = file.size;
  const range = options.conditional && request.method === 'GET' ? fieldOf(h, 'range') : undefined;
  if (range !== undefined && ifRangeAllows(fieldOf(h, 'if-range'), validators)) {
    const result = resolveRanges(parseRange(range), size);
    if (result.kind === 'unsatisfiable') {
      file.close(file.fd);
      response.head(
        '416 Range Not Satisfiable',
        ['Content-Range', `bytes */${size}`, 'Content-Length', '0', ...validatorHeaders],
        Buffer.alloc(0),
        true,
      );
      return;
    }
    if (result.kind === 'partial') {
      const headers = [...options.headers, ...validatorHeaders, 'Accept-Ranges', 'bytes'];
      const ranges = result.ranges;
      if (ranges.length === 1) {
        const only = ranges[0] as { start: number; end: number };
        const length = only.end - only.start + 1;
        headers.push('Content-Range', contentRange(only, size), 'Content-Length', String(length));
        sendBody(exchange, '206 Partial Content', headers, file, only.start, length);
        return;
      }
      const plan = multipartPlan(ranges, size, options.type, randomBytes(12).toString('hex'));
      // The part heads name the type; the response's own Content-Type is the multipart one.
      const withoutType = dropField(headers, 'content-type');
      withoutType.push('Content-Type', plan.contentType, 'Content-Length', String(plan.length));
      if (request.method === 'HEAD') {
        file.close(file.fd);
        response.head('206 Partial Content', withoutType, Buffer.alloc(0), true);
        return;
      }
      response.head('206 Partial Content', withoutType, Buffer.alloc(0), false);
      // One descriptor serves every part: it is closed when the last part is done with it
      // (the sink calls close once per file() call, whatever happens to the response).
      let open = plan.parts.length;
      const release = (fd: number): void => {
        if (--open === 0) file.close(fd);
      };
      for (const part of plan.parts) {
        response.data(part.head, false);
        const { start, end } = part.range;
        response.file(file.fd, start, end - start + 1, false, release);
      }
      response.data(plan.tail, true);
      return;
    }
  }
  const headers = [...options.headers, ...validatorHeaders];
  if (options.conditional) headers.push('Accept-Ranges', 'bytes');
  headers.push('Content-Length', String(size));
  sendBody(exchange, options.status, headers, file, 0, size);
}

/** Head, then `length` bytes of the file from `offset`; one write for a small file. */
function sendBody(
  exchange: Exchange,
  status: string,
  headers: string[],
  file: FileToSend,
  offset: number,
  length: number,
): void {
  const response = exchange.response;
  if (exchange.request.method === 'HEAD' || length === 0) {
    file.close(file.fd);
    response.head(status, headers, Buffer.alloc(0), true);
    return;
  }
  if (file.body !== undefined && file.body.length === file.size) {
    file.close(file.fd);
    response.head(status, headers, file.body.subarray(offset, offset + length), true);
    return;
  }
  if (length <= SMALL_FILE) {
    const body = Buffer.allocUnsafe(length);
    let got = 0;
    try {
      while (got < length) {
        const n = readSync(file.fd, body, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch {
      got = -1;
    }
    file.close(file.fd);
    // Shorter than its stat said: the file shrank under us. Nothing was sent yet.
    if (got !== length) {
      response.fail(500);
      return;
    }
    if (offset === 0 && length === file.size) file.keep?.(body);
    response.head(status, headers, body, true);
    return;
  }
  response.head(status, headers, Buffer.alloc(0), false);
  response.file(file.fd, offset, length, true, file.close);
}

function dropField(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== name) {
      out.push(headers[i] as string, headers[i + 1] as string);
    }
  }
  return out;
}
