// A deliberately small HTTP/1.1 client over raw sockets, so tests control every byte sent and
// see every byte received (node:http would normalise both).
import { connect, type Socket } from 'node:net';

export interface ParsedResponse {
  status: number;
  reason: string;
  version: string;
  headers: Record<string, string>;
  /** header names in order, lower-cased, duplicates kept */
  rawHeaders: Array<[string, string]>;
  body: Buffer;
}

/**
 * Parse every complete response in `data`; `headRequests[i]` says whether the i-th final
 * (non-1xx) response answers HEAD, and so has no body.
 */
export function parseResponses(data: Buffer, headRequests: boolean[] = []): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', pos);
    if (end === -1) break;
    const lines = data.toString('latin1', pos, end).split('\r\n');
    const [version, code, ...reason] = (lines[0] as string).split(' ');
    const headers: Record<string, string> = {};
    const rawHeaders: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      rawHeaders.push([name, value]);
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = Number(code);
    let bodyStart = end + 4;
    let body: Buffer;
    const isHead = headRequests[responses.filter((r) => r.status >= 200).length] === true;
    if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', p);
        if (lineEnd === -1) break;
        const size = Number.parseInt(data.toString('latin1', p, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd - 2 < p ? p : lineEnd - 2);
          if (trailerEnd === -1) break;
          p = trailerEnd + 4;
          complete = true;
          break;
        }
        if (data.length < lineEnd + 2 + size + 2) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
      bodyStart = p;
      pos = p;
      responses.push({ status, reason: reason.join(' '), version: version as string, headers, rawHeaders, body });
      continue;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (data.length < bodyStart + length) break;
      body = data.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    } else {
      // close-delimited: everything that is left
      body = data.subarray(bodyStart);
      bodyStart = data.length;
    }
    pos = bodyStart;
    responses.push({ status, reason: reason.join(' '), version: version as string, headers, rawHeaders, body });
    if (status === 100) continue;
  }
  return { responses, rest: data.subarray(pos) };
}

export interface Exchange {
  responses: ParsedResponse[];
  raw: Buffer;
  /** true when the server closed the connection */
  closed: boolean;
}

/**
 * Send `request` (bytes or pieces written with a pause between them), then read until the
 * server has sent `expect` responses (and, with `waitClose`, closed), or until `ms` passes.
 */
export function exchange(
  port: number,
  request: string | Buffer | Array<string | Buffer>,
  opts: { expect?: number; waitClose?: boolean; ms?: number; host?: string; headRequests?: boolean[]; pauseMs?: number } = {},
): Promise<Exchange> {
  const expect = opts.expect ?? 1;
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: opts.host ?? '127.0.0.1' });
    const chunks: Buffer[] = [];
    let closed = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      socket.destroy();
      resolve({ responses: parseResponses(raw, opts.headRequests).responses.filter((r) => r.status !== 100), raw, closed });
    };
    const timer = setTimeout(finish, opts.ms ?? 10_000);
    socket.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
        closed = true;
        finish();
      } else if (!done) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (opts.waitClose) return;
      const { responses } = parseResponses(Buffer.concat(chunks), opts.headRequests);
      if (responses.filter((r) => r.status !== 100).length >= expect) finish();
    });
    socket.on('end', () => {
      closed = true;
      finish();
    });
    socket.on('connect', async () => {
      const pieces = Array.isArray(request) ? request : [request];
      for (const piece of pieces) {
        if (socket.destroyed) return;
        socket.write(piece);
        if (pieces.length > 1) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 5));
      }
    });
  });
}

export function get(port: number, path: string, headers: Record<string, string> = {}, opts: { ms?: number } = {}): Promise<ParsedResponse> {
  const lines = Object.entries({ Host: 'localhost', Connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  return exchange(port, `GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`, { expect: 1, ms: opts.ms }).then((x) => {
    if (x.responses.length === 0) throw new Error(`No response to GET ${path}; got ${JSON.stringify(x.raw.toString('latin1'))}`);
    return x.responses[0] as ParsedResponse;
  });
}
