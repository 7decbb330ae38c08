// The uwsgi protocol, request side, as nginx's `uwsgi_pass` and Apache's mod_proxy_uwsgi send it
// (uWSGI's documentation, "The uwsgi protocol"). Sans-IO: bytes in, events out (wire.ts).
//
//   0            1                       3            4
//   +------------+-----------------------+------------+----------------------+----------------
//   | modifier1  | datasize              | modifier2  | variables            | body
//   +------------+-----------------------+------------+----------------------+----------------
//     u8           u16 little-endian        u8           `datasize` bytes       CONTENT_LENGTH bytes
//
//   variables: one after another, to exactly `datasize` bytes:
//   +-------------+-------------+-------------+--------------+
//   | key size    | key         | value size  | value        |
//   +-------------+-------------+-------------+--------------+
//     u16 LE        latin-1       u16 LE        latin-1
//
// One request per connection: the body is exactly CONTENT_LENGTH bytes (none when it is absent
// or empty), and the response (src/cgi/close-delimited.ts) is an HTTP/1.x response that ends
// when the connection closes. nginx sends modifier1 0 ("a WSGI request") unless told otherwise
// with uwsgi_modifier1; 30 is uWSGI's "strip SCRIPT_NAME from PATH_INFO", which the environ
// builder does anyway, so it is accepted as 0. modifier2 is ignored, as uWSGI's Python plugin
// ignores it.
//
//   state    | input                                     | emits | next
//   ---------+-------------------------------------------+-------+------------------------
//   HEADER   | 4 bytes, modifier1 0 or 30                |       | VARS
//   VARS     | `datasize` bytes of whole variables       | head  | BODY, or END if no body
//   BODY     | body bytes, up to CONTENT_LENGTH          | body  | BODY; END after the last
//   END      | nothing                                   | end   | DONE
//   DONE     | any byte is an error                      |       |
//
// Anything else throws ProtocolError: CASK_CGI_PROTOCOL (400) for broken framing, and
// CASK_HTTP_HEADERS_TOO_LARGE (431) past the limits.

import type { DecoderLimits, RequestDecoder, WireEvent } from './wire.js';
import { ByteQueue, declaredLength, headTooLarge, malformed } from './wire.js';

export const UWSGI_HEADER_SIZE = 4;
/** modifier1 of a WSGI request: what nginx sends by default. */
export const MODIFIER_WSGI = 0;
/** uWSGI's "manage PATH_INFO": SCRIPT_NAME is stripped from PATH_INFO (src/wsgi/environ.ts). */
export const MODIFIER_MANAGE_PATH_INFO = 30;
/** The variables' size is a u16. */
export const MAX_UWSGI_VARS = 0xffff;

const NAME = 'uwsgi';

type State = 'header' | 'vars' | 'body' | 'end' | 'done';

/** Decodes the variables block (without the 4-byte header). */
export function decodeUwsgiVars(block: Buffer, limits: DecoderLimits): string[] {
  const params: string[] = [];
  let at = 0;
  while (at < block.length) {
    if (params.length >= limits.maxParams * 2) {
      throw headTooLarge(NAME, `more than ${limits.maxParams} variables`);
    }
    if (at + 2 > block.length) throw malformed(NAME, 'a variable is cut short');
    const keySize = block.readUInt16LE(at);
    if (keySize === 0) throw malformed(NAME, 'a variable has an empty name');
    const keyEnd = at + 2 + keySize;
    if (keyEnd + 2 > block.length) throw malformed(NAME, 'a variable is cut short');
    const valueSize = block.readUInt16LE(keyEnd);
    const valueEnd = keyEnd + 2 + valueSize;
    if (valueEnd > block.length) throw malformed(NAME, 'a variable is cut short');
    params.push(
      block.toString('latin1', at + 2, keyEnd),
      block.toString('latin1', keyEnd + 2, valueEnd),
    );
    at = valueEnd;
  }
  return params;
}

export class UwsgiDecoder implements RequestDecoder {
  private readonly input = new ByteQueue();
  private state: State = 'header';
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
        case 'header': {
          const header = this.input.take(UWSGI_HEADER_SIZE);
          if (header === undefined) return null;
          const modifier1 = header[0] as number;
          if (modifier1 !== MODIFIER_WSGI && modifier1 !== MODIFIER_MANAGE_PATH_INFO) {
            throw malformed(NAME, `modifier1 ${modifier1} is not a WSGI request (0)`);
          }
          this.varsSize = header.readUInt16LE(1);
          if (this.varsSize > this.limits.maxHeadBytes) {
            throw headTooLarge(NAME, `${this.varsSize} bytes`);
          }
          this.state = 'vars';
          continue;
        }
        case 'vars': {
          const block = this.input.take(this.varsSize);
          if (block === undefined) return null;
          const params = decodeUwsgiVars(block, this.limits);
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

/** A uwsgi request's bytes (the tests' and the bench's client side; nginx's layout). */
export function encodeUwsgiRequest(params: readonly string[], body?: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.alloc(UWSGI_HEADER_SIZE)];
  let size = 0;
  for (const text of params) {
    const bytes = Buffer.from(text, 'latin1');
    const length = Buffer.alloc(2);
    length.writeUInt16LE(bytes.length);
    parts.push(length, bytes);
    size += 2 + bytes.length;
  }
  if (size > MAX_UWSGI_VARS) throw new RangeError(`uwsgi variables too large: ${size} bytes`);
  (parts[0] as Buffer).writeUInt16LE(size, 1);
  if (body !== undefined) parts.push(body);
  return Buffer.concat(parts);
}
