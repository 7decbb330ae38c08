// The SCGI protocol, request side, as nginx's `scgi_pass` and Apache's mod_proxy_scgi send it
// (Neil Schemenauer's SCGI specification, 2006). Sans-IO: bytes in, events out (wire.ts).
//
//   +------------------+-----+-------------------------------------+-----+----------------------
//   | length           | ":" | variables: `length` bytes           | "," | body
//   +------------------+-----+-------------------------------------+-----+----------------------
//     ASCII decimal digits      NAME NUL VALUE NUL NAME NUL VALUE NUL …      CONTENT_LENGTH bytes
//
// The variables are a netstring. The first must be CONTENT_LENGTH (digits, "0" for no body),
// and `SCGI` must be "1" (the specification's version marker). One request per connection;
// the response (src/cgi/close-delimited.ts) is an HTTP/1.x response that ends when the
// connection closes, which nginx reads like uwsgi's.
//
//   state    | input                                        | emits | next
//   ---------+----------------------------------------------+-------+-----------------------
//   LENGTH   | digits then ":"                              |       | VARS
//   VARS     | `length` bytes, then ","                     | head  | BODY, or END if no body
//   BODY     | body bytes, up to CONTENT_LENGTH             | body  | BODY; END after the last
//   END      | nothing                                      | end   | DONE
//   DONE     | any byte is an error                         |       |
//
// Anything else throws ProtocolError: CASK_CGI_PROTOCOL (400) for broken framing, and
// CASK_HTTP_HEADERS_TOO_LARGE (431) past the limits.

import type { DecoderLimits, RequestDecoder, WireEvent } from './wire.js';
import { ByteQueue, declaredLength, headTooLarge, malformed } from './wire.js';

const COLON = 0x3a;
const COMMA = 0x2c;
const NUL = 0;
/** Digits of the netstring's length: enough for any limit a server could be given. */
export const MAX_LENGTH_DIGITS = 9;

const NAME = 'SCGI';

type State = 'length' | 'vars' | 'body' | 'end' | 'done';

/** Decodes the netstring's content: NAME NUL VALUE NUL pairs, CONTENT_LENGTH first. */
export function decodeScgiVars(block: Buffer, limits: DecoderLimits): string[] {
  const params: string[] = [];
  let at = 0;
  while (at < block.length) {
    if (params.length >= limits.maxParams * 2) {
      throw headTooLarge(NAME, `more than ${limits.maxParams} variables`);
    }
    const nameEnd = block.indexOf(NUL, at);
    if (nameEnd === -1) throw malformed(NAME, 'a variable name is not followed by NUL');
    if (nameEnd === at) throw malformed(NAME, 'a variable has an empty name');
    const valueEnd = block.indexOf(NUL, nameEnd + 1);
    if (valueEnd === -1) throw malformed(NAME, 'a variable value is not followed by NUL');
    params.push(
      block.toString('latin1', at, nameEnd),
      block.toString('latin1', nameEnd + 1, valueEnd),
    );
    at = valueEnd + 1;
  }
  if (params[0] !== 'CONTENT_LENGTH')
    throw malformed(NAME, 'the first variable is not CONTENT_LENGTH');
  let version: string | undefined;
  for (let i = 0; i < params.length; i += 2) if (params[i] === 'SCGI') version = params[i + 1];
  if (version !== '1') throw malformed(NAME, `SCGI is not "1": ${JSON.stringify(version ?? null)}`);
  return params;
}

export class ScgiDecoder implements RequestDecoder {
  private readonly input = new ByteQueue();
  private state: State = 'length';
  private varsSize = 0;
  private bodyLeft = 0;

  constructor(private readonly limits: DecoderLimits) {}

  get buffered(): number {
    return this.input.length;
  }

  get bodyAwaited(): number {
    return this.state === 'body' ? this.bodyLeft - this.input.length : 0;
  }

  /** One request per connection: it has no id. */
  get requestId(): number {
    return 0;
  }

  push(bytes: Buffer): void {
    this.input.push(bytes);
  }

  responded(): void {
    // One request per connection: the driver closes it.
  }

  next(): WireEvent | null {
    for (;;) {
      switch (this.state) {
        case 'length': {
          // Scanned afresh on each call: at most MAX_LENGTH_DIGITS + 1 bytes.
          let size = 0;
          let i = 0;
          for (; ; i++) {
            const byte = this.input.peek(i);
            if (byte === -1) {
              if (i > MAX_LENGTH_DIGITS) throw headTooLarge(NAME, 'the length has too many digits');
              return null;
            }
            if (byte === COLON) break;
            if (byte < 0x30 || byte > 0x39)
              throw malformed(NAME, 'the netstring length is not digits then ":"');
            if (i === MAX_LENGTH_DIGITS) throw headTooLarge(NAME, 'the length has too many digits');
            size = size * 10 + (byte - 0x30);
          }
          if (i === 0) throw malformed(NAME, 'the netstring has no length');
          if (size > this.limits.maxHeadBytes) throw headTooLarge(NAME, `${size} bytes`);
          this.input.take(i + 1);
          this.varsSize = size;
          this.state = 'vars';
          continue;
        }
        case 'vars': {
          if (this.input.length < this.varsSize + 1) return null;
          const block = this.input.take(this.varsSize) as Buffer;
          const comma = (this.input.take(1) as Buffer)[0];
          if (comma !== COMMA) throw malformed(NAME, 'the netstring does not end with ","');
          const params = decodeScgiVars(block, this.limits);
          this.bodyLeft = declaredLength(params, NAME);
          this.state = this.bodyLeft > 0 ? 'body' : 'end';
          return { type: 'head', params, keepConn: false };
        }
        case 'body': {
          const chunk = this.input.takeSome(this.bodyLeft);
          if (chunk === undefined) return null;
          this.bodyLeft -= chunk.length;
          if (this.bodyLeft === 0) this.state = 'end';
          return { type: 'body', chunk };
        }
        case 'end':
          this.state = 'done';
          return { type: 'end' };
        default:
          if (this.input.length > 0) throw malformed(NAME, 'bytes after the request body');
          return null;
      }
    }
  }
}

/** An SCGI request's bytes (tests); `params` must start with CONTENT_LENGTH. */
export function encodeScgiRequest(params: readonly string[], body?: Buffer): Buffer {
  const block = Buffer.from(params.map((text) => `${text}\0`).join(''), 'latin1');
  const parts: Buffer[] = [Buffer.from(`${block.length}:`, 'latin1'), block, Buffer.from(',')];
  if (body !== undefined) parts.push(body);
  return Buffer.concat(parts);
}
