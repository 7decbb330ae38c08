// FastCGI 1.0 (the Open Market specification, 1996), the responder role, as nginx's
// `fastcgi_pass` and Apache's mod_proxy_fcgi speak it: the request decoder (sans-IO, wire.ts)
// and the records of the response. Both directions are records:
//
//   0          1          2                     4                     6          7          8
//   +----------+----------+---------------------+---------------------+----------+----------+
//   | version  | type     | request id          | content length      | padding  | reserved |
//   +----------+----------+---------------------+---------------------+----------+----------+
//     u8 = 1     u8         u16 big-endian        u16 big-endian        u8         u8
//   followed by `content length` bytes of content and `padding` bytes to skip.
//
//   BEGIN_REQUEST content (8 bytes):  role u16 BE | flags u8 (bit 0: KEEP_CONN) | 5 reserved
//   END_REQUEST content (8 bytes):    app status u32 BE | protocol status u8 | 3 reserved
//   PARAMS and GET_VALUES content:    name-value pairs, each length 1 byte if < 128, else 4
//                                     bytes big-endian with the top bit set; name; value
//
// A request is BEGIN_REQUEST, PARAMS records ended by an empty one, STDIN records ended by an
// empty one; its response STDOUT records (a CGI response: `Status:` and headers, a blank line,
// the body) ended by an empty one, then END_REQUEST. With KEEP_CONN (nginx's
// `fastcgi_keep_conn on`) the connection then carries the next request; without it the
// application closes it. Requests are not multiplexed (FCGI_MPXS_CONNS is 0), which is what
// nginx expects: a second BEGIN_REQUEST while one is in progress is refused with
// CANT_MPX_CONN, and records of any id other than the current request's are ignored (§3.3).
//
//   record (id)               | phase          | what happens                       | next phase
//   --------------------------+----------------+------------------------------------+-----------
//   BEGIN_REQUEST, RESPONDER  | IDLE           | the request begins                 | PARAMS
//   BEGIN_REQUEST, other role | IDLE           | reply END_REQUEST UNKNOWN_ROLE     | IDLE
//   BEGIN_REQUEST, other id   | not IDLE       | reply END_REQUEST CANT_MPX_CONN    | unchanged
//   PARAMS, content           | PARAMS         | collected (maxHeadBytes)           | PARAMS
//   PARAMS, empty             | PARAMS         | emit head                          | STDIN
//   STDIN, content            | STDIN          | emit body (streamed, not collected)| STDIN
//   STDIN, empty              | STDIN          | emit end                           | RESPONDING
//   ABORT_REQUEST             | PARAMS…RESPOND.| emit abort                         | ABORTED
//   any, current id           | ABORTED        | ignored                            | ABORTED
//   GET_VALUES (id 0)         | any            | reply GET_VALUES_RESULT            | unchanged
//   other type (id 0)         | any            | reply UNKNOWN_TYPE                 | unchanged
//   any, not the current id   | any            | ignored                            | unchanged
//   responded() (the driver)  | RESPOND./ABORT.|                                    | IDLE
// Anything else throws ProtocolError: CASK_CGI_PROTOCOL (400), or CASK_HTTP_HEADERS_TOO_LARGE
// (431) past the limits.

import type { DecoderLimits, RequestDecoder, WireEvent } from './wire.js';
import { ByteQueue, headTooLarge, malformed } from './wire.js';

export const FCGI_VERSION = 1;
export const FCGI_HEADER_SIZE = 8;
/** The content length is a u16. */
export const FCGI_MAX_CONTENT = 0xffff;

export const RecordType = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

export const Role = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;
export const FCGI_KEEP_CONN = 1;

export const ProtocolStatus = {
  REQUEST_COMPLETE: 0,
  CANT_MPX_CONN: 1,
  OVERLOADED: 2,
  UNKNOWN_ROLE: 3,
} as const;

const NAME = 'FastCGI';

type Phase = 'idle' | 'params' | 'stdin' | 'responding' | 'aborted';

// ── Encoding ──────────────────────────────────────────────────────────────

export function recordHeader(type: number, id: number, contentLength: number, padding = 0): Buffer {
  if (contentLength > FCGI_MAX_CONTENT)
    throw new RangeError(`FastCGI record too large: ${contentLength} bytes`);
  const header = Buffer.alloc(FCGI_HEADER_SIZE);
  header[0] = FCGI_VERSION;
  header[1] = type;
  header.writeUInt16BE(id, 2);
  header.writeUInt16BE(contentLength, 4);
  header[6] = padding;
  return header;
}

/** One record with `content` (at most FCGI_MAX_CONTENT bytes), unpadded. */
export function encodeRecord(type: number, id: number, content?: Buffer): Buffer {
  const length = content === undefined ? 0 : content.length;
  const header = recordHeader(type, id, length);
  return length === 0 ? header : Buffer.concat([header, content as Buffer]);
}

/**
 * A stream's bytes as records of at most FCGI_MAX_CONTENT, as [header, content, header, …] to
 * write in one go; the content pieces are views of `bytes`. Empty `bytes` give no record (the
 * stream's end is a record of its own).
 */
export function streamRecords(type: number, id: number, bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += FCGI_MAX_CONTENT) {
    const piece = bytes.subarray(at, Math.min(at + FCGI_MAX_CONTENT, bytes.length));
    parts.push(recordHeader(type, id, piece.length), piece);
  }
  return parts;
}

export function encodeEndRequest(id: number, appStatus: number, protocolStatus: number): Buffer {
  const content = Buffer.alloc(8);
  content.writeUInt32BE(appStatus >>> 0, 0);
  content[4] = protocolStatus;
  return encodeRecord(RecordType.END_REQUEST, id, content);
}

/** The end of a response: the empty STDOUT that closes the stream, then END_REQUEST. */
export function encodeResponseEnd(id: number, appStatus = 0): Buffer {
  return Buffer.concat([
    recordHeader(RecordType.STDOUT, id, 0),
    encodeEndRequest(id, appStatus, ProtocolStatus.REQUEST_COMPLETE),
  ]);
}

function pairLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE((n | 0x80000000) >>> 0);
  return bytes;
}

/** Name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT content) from [NAME, VALUE, …]. */
export function encodePairs(pairs: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = Buffer.from(pairs[i] as string, 'latin1');
    const value = Buffer.from(pairs[i + 1] as string, 'latin1');
    parts.push(pairLength(name.length), pairLength(value.length), name, value);
  }
  return Buffer.concat(parts);
}

export function encodeBeginRequest(id: number, role: number, flags: number): Buffer {
  const content = Buffer.alloc(8);
  content.writeUInt16BE(role, 0);
  content[2] = flags;
  return encodeRecord(RecordType.BEGIN_REQUEST, id, content);
}

/** A whole request as nginx lays it out (tests, bench): BEGIN, PARAMS…, empty PARAMS, STDIN…, empty STDIN. */
export function encodeFastCgiRequest(
  id: number,
  params: readonly string[],
  body: Buffer = Buffer.alloc(0),
  keepConn = false,
): Buffer {
  return Buffer.concat([
    encodeBeginRequest(id, Role.RESPONDER, keepConn ? FCGI_KEEP_CONN : 0),
    ...streamRecords(RecordType.PARAMS, id, encodePairs(params)),
    recordHeader(RecordType.PARAMS, id, 0),
    ...streamRecords(RecordType.STDIN, id, body),
    recordHeader(RecordType.STDIN, id, 0),
  ]);
}

// ── Decoding ──────────────────────────────────────────────────────────────

/** Decodes name-value pairs; `limits` bounds their number. */
export function decodePairs(content: Buffer, maxPairs: number): string[] {
  const pairs: string[] = [];
  let at = 0;
  const length = (): number => {
    if (at >= content.length) throw malformed(NAME, 'a name-value pair is cut short');
    const first = content[at] as number;
    if (first < 0x80) {
      at += 1;
      return first;
    }
    if (at + 4 > content.length) throw malformed(NAME, 'a name-value pair is cut short');
    const n = content.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return n;
  };
  while (at < content.length) {
    if (pairs.length >= maxPairs * 2) throw headTooLarge(NAME, `more than ${maxPairs} variables`);
    const nameLength = length();
    const valueLength = length();
    if (nameLength === 0) throw malformed(NAME, 'a variable has an empty name');
    if (at + nameLength + valueLength > content.length) {
      throw malformed(NAME, 'a name-value pair is cut short');
    }
    pairs.push(
      content.toString('latin1', at, at + nameLength),
      content.toString('latin1', at + nameLength, at + nameLength + valueLength),
    );
    at += nameLength + valueLength;
  }
  return pairs;
}

export interface FastCgiOptions extends DecoderLimits {
  /** FCGI_MAX_CONNS and FCGI_MAX_REQS, for a GET_VALUES query. */
  maxConnections: number;
}

interface RecordHead {
  type: number;
  id: number;
  contentLength: number;
  padding: number;
}

export class FastCgiDecoder implements RequestDecoder {
  private readonly input = new ByteQueue();
  private phase: Phase = 'idle';
  private id = 0;
  private keepConn = false;
  /** The record being read, once its header is in. */
  private record: RecordHead | undefined;
  /** STDIN content of the current record still to stream out. */
  private stdinLeft = 0;
  private paddingLeft = 0;
  private params: Buffer[] = [];
  private paramsSize = 0;

  constructor(private readonly options: FastCgiOptions) {}

  get buffered(): number {
    return this.input.length;
  }

  /** Within a STDIN record's content, the part of it not held yet (the next record's header
   *  is not body, so nothing past this record counts). */
  get bodyAwaited(): number {
    return this.stdinLeft > 0 ? this.stdinLeft - this.input.length : 0;
  }

  get requestId(): number {
    return this.id;
  }

  push(bytes: Buffer): void {
    this.input.push(bytes);
  }

  responded(): void {
    this.phase = 'idle';
    this.id = 0;
  }

  next(): WireEvent | null {
    for (;;) {
      if (this.stdinLeft > 0) {
        const chunk = this.input.takeSome(this.stdinLeft);
        if (chunk === undefined) return null;
        this.stdinLeft -= chunk.length;
        return { type: 'body', chunk };
      }
      if (this.paddingLeft > 0) {
        this.paddingLeft -= this.input.drop(this.paddingLeft);
        if (this.paddingLeft > 0) return null;
      }
      let record = this.record;
      if (record === undefined) {
        const header = this.input.take(FCGI_HEADER_SIZE);
        if (header === undefined) return null;
        if (header[0] !== FCGI_VERSION) throw malformed(NAME, `version ${header[0]} is not 1`);
        record = {
          type: header[1] as number,
          id: header.readUInt16BE(2),
          contentLength: header.readUInt16BE(4),
          padding: header[6] as number,
        };
        if (
          record.type === RecordType.STDIN &&
          record.id === this.id &&
          this.phase === 'stdin' &&
          record.contentLength > 0
        ) {
          // Body bytes go out as they come, never collected into a whole record.
          this.stdinLeft = record.contentLength;
          this.paddingLeft = record.padding;
          continue;
        }
        this.record = record;
      }
      const content = this.input.take(record.contentLength);
      if (content === undefined) return null;
      this.record = undefined;
      this.paddingLeft = record.padding;
      const event = this.onRecord(record, content);
      if (event !== null) return event;
    }
  }

  private onRecord(record: RecordHead, content: Buffer): WireEvent | null {
    const { type, id } = record;
    if (id === 0) return { type: 'reply', bytes: this.management(type, content) };
    if (type === RecordType.BEGIN_REQUEST) return this.begin(id, content);
    // Records of a request that is not (or no longer) the current one are ignored (§3.3).
    if (id !== this.id || this.phase === 'aborted') return null;
    switch (type) {
      case RecordType.ABORT_REQUEST:
        this.phase = 'aborted';
        return { type: 'abort' };
      case RecordType.PARAMS:
        if (this.phase !== 'params')
          throw malformed(NAME, 'PARAMS after the end of the params stream');
        if (content.length > 0) {
          this.paramsSize += content.length;
          if (this.paramsSize > this.options.maxHeadBytes) {
            throw headTooLarge(NAME, `more than ${this.options.maxHeadBytes} bytes`);
          }
          this.params.push(Buffer.from(content));
          return null;
        }
        return this.head();
      case RecordType.STDIN:
        if (this.phase !== 'stdin') throw malformed(NAME, 'STDIN outside the request body');
        // Only an empty STDIN gets here: content is streamed by next().
        this.phase = 'responding';
        return { type: 'end' };
      default:
        throw malformed(NAME, `record type ${type} is not one a web server sends`);
    }
  }

  private begin(id: number, content: Buffer): WireEvent | null {
    if (content.length !== 8)
      throw malformed(NAME, `BEGIN_REQUEST content is ${content.length} bytes, not 8`);
    if (this.phase !== 'idle') {
      if (id === this.id) throw malformed(NAME, `BEGIN_REQUEST for request ${id}, already begun`);
      return { type: 'reply', bytes: encodeEndRequest(id, 0, ProtocolStatus.CANT_MPX_CONN) };
    }
    const role = content.readUInt16BE(0);
    if (role !== Role.RESPONDER) {
      return { type: 'reply', bytes: encodeEndRequest(id, 0, ProtocolStatus.UNKNOWN_ROLE) };
    }
    this.id = id;
    this.keepConn = ((content[2] as number) & FCGI_KEEP_CONN) !== 0;
    this.phase = 'params';
    this.params = [];
    this.paramsSize = 0;
    return null;
  }

  private head(): WireEvent {
    const params = decodePairs(Buffer.concat(this.params, this.paramsSize), this.options.maxParams);
    this.params = [];
    this.phase = 'stdin';
    return { type: 'head', params, keepConn: this.keepConn };
  }

  /** A management record's answer (§4): what we can tell about ourselves, or UNKNOWN_TYPE. */
  private management(type: number, content: Buffer): Buffer {
    if (type !== RecordType.GET_VALUES) {
      const body = Buffer.alloc(8);
      body[0] = type;
      return encodeRecord(RecordType.UNKNOWN_TYPE, 0, body);
    }
    const known: Record<string, string> = {
      FCGI_MAX_CONNS: String(this.options.maxConnections),
      FCGI_MAX_REQS: String(this.options.maxConnections),
      FCGI_MPXS_CONNS: '0',
    };
    const asked = decodePairs(content, this.options.maxParams);
    const answer: string[] = [];
    for (let i = 0; i < asked.length; i += 2) {
      const value = known[asked[i] as string];
      if (value !== undefined) answer.push(asked[i] as string, value);
    }
    return encodeRecord(RecordType.GET_VALUES_RESULT, 0, encodePairs(answer));
  }
}
