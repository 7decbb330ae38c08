// Private to src/http (the parser's helpers; import the parser from `parser.ts`).
//
// What a request head means, once its lines are known to be well formed: the rules on Host,
// Content-Length, Transfer-Encoding, Connection and Expect that decide how the message is
// framed and whether the connection persists (RFC 9112 §3.2, §6, §9.3; RFC 9110 §10.1.1), and
// the one on Content-Type, which may not be repeated (RFC 9110 §5.3, §8.3).
// The parser finds the bytes; this file turns them into a RequestHead or a ProtocolError.

import { ProtocolError } from '../../errors.js';
import { badRequest, equalsLower, shown } from './bytes.js';
import {
  CONNECTION_CLOSE,
  CONNECTION_KEEP_ALIVE,
  CONNECTION_UPGRADE,
  TE_CHUNKED,
  TE_OTHER,
  parseContentLength,
  scanConnection,
  scanTransferEncoding,
} from './fields.js';
import { isHost } from '../host.js';
import type { RequestHead } from './types.js';
import { checkTarget } from './request-line.js';

/** One per parser, reused for each message: begin(), field() per line, then head(). */
/** Held between messages in place of the last one's headers; begin() gives each message a
 * fresh array before any field is added. */
const NO_HEADERS: string[] = [];

export class HeadBuilder {
  private method = '';
  private target = '';
  private minor: 0 | 1 = 1;
  private authority: string | null = null;
  private headers: string[] = [];
  private hostCount = 0;
  private host = '';
  private contentTypeCount = 0;
  private contentLength = -1;
  private contentLengthText: string | null = null;
  private teFlags = 0;
  private connectionFlags = 0;
  private expect = false;
  private upgradeField = false;

  /** Starts a message; `originForm` says the target starts with "/". */
  begin(method: string, target: string, minor: 0 | 1, originForm: boolean): void {
    this.method = method;
    this.target = target;
    this.minor = minor;
    this.authority = originForm && method !== 'CONNECT' ? null : checkTarget(method, target);
    this.headers = [];
    this.hostCount = 0;
    this.host = '';
    this.contentTypeCount = 0;
    this.contentLength = -1;
    this.contentLengthText = null;
    this.teFlags = 0;
    this.connectionFlags = 0;
    this.expect = false;
    this.upgradeField = false;
  }

  /**
   * Records the field whose line starts at `ls`, with its name ending at `colon` and its value
   * at [vs, ve) of `buf`, already decoded as `name` and `value`. Only the fields that frame the
   * message or that the driver needs are looked at; switching on the name's length first
   * keeps the common case to one compare.
   */
  field(
    buf: Buffer,
    ls: number,
    colon: number,
    vs: number,
    ve: number,
    name: string,
    value: string,
  ): void {
    this.headers.push(name, value);
    switch (colon - ls) {
      case 4:
        if (!equalsLower(buf, ls, colon, 'host')) return;
        // RFC 9112 §3.2: more than one Host, or an invalid one, is a 400.
        if (++this.hostCount > 1) throw badRequest(`Duplicate Host header: ${shown(buf, ls, ve)}`);
        if (!isHost(value)) throw badRequest(`Invalid Host header: ${shown(buf, ls, ve)}`);
        this.host = value;
        return;
      case 6:
        // RFC 9110 §10.1.1: the only expectation defined; others are ignored rather than
        // answered with 417, as §10.1.1 allows.
        if (equalsLower(buf, ls, colon, 'expect') && equalsLower(buf, vs, ve, '100-continue')) {
          this.expect = true;
        }
        return;
      case 7:
        if (equalsLower(buf, ls, colon, 'upgrade')) this.upgradeField = true;
        return;
      case 10:
        if (equalsLower(buf, ls, colon, 'connection')) {
          this.connectionFlags = scanConnection(buf, vs, ve, this.connectionFlags);
        }
        return;
      case 12:
        // Content-Type is a single media type, not a list (RFC 9110 §8.3), so it may not be
        // repeated (§5.3). Joined with a comma, two of them make a type neither sender meant,
        // and an app and a proxy in front of it may each pick a different one: a 400, as for Host.
        if (equalsLower(buf, ls, colon, 'content-type') && ++this.contentTypeCount > 1) {
          const values = JSON.stringify(this.fieldValues('content-type'));
          throw badRequest(`Duplicate Content-Type header: ${values}`);
        }
        return;
      case 14: {
        if (!equalsLower(buf, ls, colon, 'content-length')) return;
        const n = parseContentLength(buf, vs, ve);
        // RFC 9112 §6.3 item 5: differing values are unrecoverable; identical repeats are harmless.
        if (this.contentLengthText !== null && this.contentLengthText !== value) {
          throw badRequest(
            `Conflicting Content-Length values: ${JSON.stringify(`${this.contentLengthText}, ${value}`)}`,
          );
        }
        this.contentLengthText = value;
        this.contentLength = n;
        return;
      }
      case 17:
        if (equalsLower(buf, ls, colon, 'transfer-encoding')) {
          this.teFlags = scanTransferEncoding(buf, vs, ve, this.teFlags);
        }
        return;
    }
  }

  /** The head once its last field is in, after the checks that need all of them. */
  head(maxBodySize: number): RequestHead {
    const minor = this.minor;
    if (minor === 1 && this.hostCount === 0) {
      throw badRequest(
        `Missing Host header in an HTTP/1.1 request: ${JSON.stringify(this.target)}`,
      );
    }
    let chunked = false;
    let length = this.contentLength;
    if (this.teFlags !== 0) {
      const te = JSON.stringify(this.fieldValues('transfer-encoding'));
      // RFC 9112 §6.1: TE in HTTP/1.0 means the framing is faulty (1.0 has no chunked coding).
      if (minor === 0) throw badRequest(`Transfer-Encoding in an HTTP/1.0 request: ${te}`);
      // §6.1 lets Transfer-Encoding override Content-Length, but a server that may sit behind
      // a proxy must not guess which of the two the proxy used: both at once is the classic
      // request-smuggling shape, so refuse it.
      if (this.contentLengthText !== null) {
        throw badRequest(`Both Transfer-Encoding and Content-Length: ${te}`);
      }
      // §6.3 item 4: without chunked as the final coding the length cannot be known.
      if ((this.teFlags & TE_CHUNKED) === 0) {
        throw badRequest(`Transfer-Encoding does not end with chunked: ${te}`);
      }
      if ((this.teFlags & TE_OTHER) !== 0) {
        throw new ProtocolError('CASK_HTTP_NOT_IMPLEMENTED', `Unsupported transfer coding: ${te}`);
      }
      chunked = true;
      length = -1;
    } else if (length > maxBodySize) {
      throw new ProtocolError(
        'CASK_HTTP_BODY_TOO_LARGE',
        `Content-Length exceeds ${maxBodySize} bytes: ${this.contentLengthText!}`,
      );
    }
    const connection = this.connectionFlags;
    const head: RequestHead = {
      method: this.method,
      target: this.target,
      protocol: minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
      versionMinor: minor,
      headers: this.headers,
      contentLength: length,
      chunked,
      // RFC 9112 §9.3: persistent by default in 1.1; in 1.0 only when the client asked.
      keepAlive:
        minor === 1
          ? (connection & CONNECTION_CLOSE) === 0
          : (connection & (CONNECTION_CLOSE | CONNECTION_KEEP_ALIVE)) === CONNECTION_KEEP_ALIVE,
      // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request must be ignored.
      expectContinue: this.expect && minor === 1,
      upgrade: this.upgradeField && (connection & CONNECTION_UPGRADE) !== 0,
      // RFC 9112 §3.2.2: with an absolute-form target, its authority replaces Host.
      host: this.authority ?? this.host,
    };
    // The head owns the request's strings now. Letting go of them here means a keep-alive
    // connection waiting for its next request does not hold its last one: with 10,000 idle
    // browser connections, a kilobyte or more of headers each.
    this.headers = NO_HEADERS;
    this.method = '';
    this.target = '';
    this.host = '';
    this.authority = null;
    this.contentLengthText = null;
    return head;
  }

  /** Values of every field named `lower`, joined as a list (error messages only). */
  private fieldValues(lower: string): string {
    const values: string[] = [];
    for (let i = 0; i < this.headers.length; i += 2) {
      if (this.headers[i]!.toLowerCase() === lower) values.push(this.headers[i + 1]!);
    }
    return values.join(', ');
  }
}
