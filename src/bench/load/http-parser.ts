// Minimal HTTP/1.1 *response* parser for the load generator, sans-IO: push() takes bytes
// and returns how many responses completed; it never touches a socket, so it is tested
// with plain buffers. It knows exactly what a client needs to reuse a connection safely:
// the status line, Content-Length, chunked transfer coding (RFC 9112 §7.1), bodies
// delimited by close (§6.3 rule 8), 1xx interim responses (skipped) and Connection
// keep-alive/close including HTTP/1.0's opposite default (§9.3). Header values other than
// those are not kept: the generator only needs counts, status and byte totals.

export class ResponseParseError extends Error {
  readonly code = 'parse';
  constructor(message: string) {
    super(message);
    this.name = 'ResponseParseError';
  }
}

/** One completed response. */
export interface ParsedResponse {
  status: number;
  /** Whether the connection may carry another request after this response. */
  keepAlive: boolean;
  bodyBytes: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 1024;

type State =
  | 'head' // waiting for the end of a status line + header block
  | 'body-length' // counting down Content-Length bytes
  | 'chunk-size' // reading a chunk-size line
  | 'chunk-data' // counting down one chunk's bytes
  | 'chunk-crlf' // the CRLF after a chunk's data
  | 'trailers' // trailer fields after the last chunk, until an empty line
  | 'body-close'; // body runs until the server closes

export class ResponseParser {
  private state: State = 'head';
  /** Bytes of an incomplete head or chunk line carried over from the previous push. */
  private carry: Buffer | null = null;
  /** Offset in the joined buffer where the CRLFCRLF search resumes. */
  private scanFrom = 0;
  private status = 0;
  private keepAlive = true;
  private remaining = 0;
  private bodyBytes = 0;
  private started = false;
  /** Requests that expect no body in the response (HEAD), oldest first. */
  private readonly headRequests: boolean[] = [];

  /** Tell the parser the next response answers a HEAD request (no body, RFC 9110 §9.3.2). */
  expectHead(isHead: boolean): void {
    this.headRequests.push(isHead);
  }

  /** True once any byte of the current response arrived: a connection that fails after
   * this point lost a response, before it the server merely closed an idle connection. */
  get inResponse(): boolean {
    return this.started;
  }

  /** Feed bytes; calls onResponse for each response completed inside them. */
  push(chunk: Buffer, onResponse: (r: ParsedResponse) => void): void {
    let data = chunk;
    if (this.carry !== null) {
      data = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let pos = 0;
    const end = data.length;
    while (pos < end) {
      switch (this.state) {
        case 'head': {
          this.started = true;
          // Servers write a head in one piece, so a split head is rare: the carried part is
          // joined to the next chunk (bounded by MAX_HEAD) and the scan resumes 3 bytes
          // before its end, in case the CRLFCRLF itself was split.
          const stop = data.indexOf(CRLFCRLF, Math.max(pos, this.scanFrom));
          this.scanFrom = 0;
          if (stop < 0) {
            if (end - pos > MAX_HEAD)
              throw new ResponseParseError(`Response head too large: ${end - pos} bytes`);
            this.carry = data.subarray(pos);
            this.scanFrom = Math.max(0, this.carry.length - 3);
            return;
          }
          this.parseHead(data.toString('latin1', pos, stop));
          pos = stop + 4;
          if (this.state === 'head') continue; // 1xx: another head follows
          if (this.isComplete()) this.finish(onResponse);
          break;
        }
        case 'body-length': {
          const take = Math.min(this.remaining, end - pos);
          this.remaining -= take;
          this.bodyBytes += take;
          pos += take;
          if (this.remaining === 0) this.finish(onResponse);
          break;
        }
        case 'body-close':
          this.bodyBytes += end - pos;
          pos = end;
          break;
        case 'chunk-size': {
          const nl = data.indexOf(10, pos);
          if (nl < 0) {
            if (end - pos > MAX_CHUNK_LINE)
              throw new ResponseParseError('Chunk size line too long');
            this.carry = data.subarray(pos);
            return;
          }
          const line = data.toString('latin1', pos, nl).replace(/\r$/, '');
          const hex = line.split(';', 1)[0]?.trim() ?? '';
          if (!/^[0-9a-fA-F]{1,16}$/.test(hex))
            throw new ResponseParseError(`Invalid chunk size: ${JSON.stringify(line)}`);
          this.remaining = Number.parseInt(hex, 16);
          pos = nl + 1;
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.remaining, end - pos);
          this.remaining -= take;
          this.bodyBytes += take;
          pos += take;
          if (this.remaining === 0) {
            this.state = 'chunk-crlf';
            this.remaining = 2;
          }
          break;
        }
        case 'chunk-crlf': {
          // Exactly CRLF; a bare LF is tolerated as many clients do.
          const byte = data[pos];
          pos += 1;
          if (byte === 10) this.state = 'chunk-size';
          else if (byte !== 13) throw new ResponseParseError('Missing CRLF after chunk data');
          break;
        }
        case 'trailers': {
          const nl = data.indexOf(10, pos);
          if (nl < 0) {
            if (end - pos > MAX_HEAD) throw new ResponseParseError('Trailer section too large');
            this.carry = data.subarray(pos);
            return;
          }
          const empty = nl === pos || (nl === pos + 1 && data[pos] === 13);
          pos = nl + 1;
          if (empty) this.finish(onResponse);
          break;
        }
      }
    }
  }

  /** The connection reached EOF. Completes a close-delimited body, else reports whether
   * a response was cut short (true) or the connection was simply idle (false). */
  end(onResponse: (r: ParsedResponse) => void): { truncated: boolean } {
    if (this.state === 'body-close') {
      this.keepAlive = false;
      this.finish(onResponse);
      return { truncated: false };
    }
    return { truncated: this.started };
  }

  private isComplete(): boolean {
    return this.state === 'body-length' && this.remaining === 0;
  }

  private parseHead(head: string): void {
    const lines = head.split('\r\n');
    const statusLine = lines[0] ?? '';
    const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: |$)/.exec(statusLine);
    if (m === null)
      throw new ResponseParseError(
        `Invalid status line: ${JSON.stringify(statusLine.slice(0, 80))}`,
      );
    const http10 = m[1] === '1' && m[2] === '0';
    const status = Number(m[3]);
    let contentLength = -1;
    let chunked = false;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0)
        throw new ResponseParseError(`Invalid header line: ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value))
          throw new ResponseParseError(`Invalid Content-Length: ${JSON.stringify(value)}`);
        const n = Number(value);
        if (contentLength >= 0 && n !== contentLength)
          throw new ResponseParseError('Conflicting Content-Length headers');
        contentLength = n;
      } else if (name === 'transfer-encoding') {
        chunked =
          value
            .toLowerCase()
            .split(',')
            .map((s) => s.trim())
            .at(-1) === 'chunked';
      } else if (name === 'connection') {
        connection += `${value.toLowerCase()},`;
      }
    }
    if (status >= 100 && status < 200 && status !== 101) {
      this.state = 'head'; // interim response: the final one follows on the same connection
      return;
    }
    this.status = status;
    this.bodyBytes = 0;
    const tokens = connection.split(',').map((s) => s.trim());
    this.keepAlive = http10 ? tokens.includes('keep-alive') : !tokens.includes('close');
    const isHead = this.headRequests.shift() ?? false;
    if (isHead || status === 204 || status === 304) {
      this.state = 'body-length';
      this.remaining = 0;
    } else if (chunked) {
      this.state = 'chunk-size';
    } else if (contentLength >= 0) {
      this.state = 'body-length';
      this.remaining = contentLength;
    } else {
      this.state = 'body-close';
      this.keepAlive = false;
    }
  }

  private finish(onResponse: (r: ParsedResponse) => void): void {
    const r: ParsedResponse = {
      status: this.status,
      keepAlive: this.keepAlive,
      bodyBytes: this.bodyBytes,
    };
    this.state = 'head';
    this.started = false;
    this.remaining = 0;
    this.bodyBytes = 0;
    onResponse(r);
  }
}
