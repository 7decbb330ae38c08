// `--reload-browser`: HTML pages get one script tag that listens to the front's Server-Sent
// Events and reloads the tab after each successful reload (and once broken code loads again).
//
//   app's text/html response ──InjectingHandler──▶ + <script src="/__cask__/reload.js">
//   reload.js ──EventSource──▶ GET /__cask__/events (held open) ◀── broadcast('reload')
//
// The tag is appended after the app's last byte (an HTML parser puts it in the body), so the
// response is never buffered or parsed; a declared Content-Length grows by its size. Not
// touched: HEAD, 204/304, a body with a Content-Encoding, anything but text/html. The script
// is a same-origin file rather than inline code, so a page whose Content-Security-Policy
// allows `script-src 'self'` (Cask's own error pages do) runs it.

import type { CaskError } from '../errors.js';
import type { Exchange, Flushed, RequestHandler, ResponseSink } from '../exchange.js';
import type { ResponseHead } from '../ipc/protocol.js';
import { targetPath, type Route } from '../router.js';

export const EVENTS_PATH = '/__cask__/events';
export const SCRIPT_PATH = '/__cask__/reload.js';
export const SCRIPT_TAG = Buffer.from(`\n<script src="${SCRIPT_PATH}"></script>\n`, 'latin1');
const SCRIPT = Buffer.from(
  `// Cask dev: reload this tab when the server has reloaded the app.\n` +
    `new EventSource(${JSON.stringify(EVENTS_PATH)}).addEventListener('reload', () => location.reload());\n`,
  'utf8',
);

function field(headers: readonly string[], name: string): number {
  for (let i = 0; i < headers.length; i += 2)
    if ((headers[i] as string).toLowerCase() === name) return i;
  return -1;
}

/** Whether a response with this status and these headers gets the tag. */
export function wantsScript(status: string, headers: readonly string[]): boolean {
  const code = Number(status.slice(0, 3));
  if (code === 204 || code === 304 || code < 200) return false;
  if (field(headers, 'content-encoding') !== -1) return false;
  const type = field(headers, 'content-type');
  return type !== -1 && /^\s*text\/html\b/i.test(headers[type + 1] as string);
}

/** The headers with Content-Length grown by the tag. */
function grown(headers: readonly string[]): string[] {
  const out = [...headers];
  const at = field(out, 'content-length');
  if (at !== -1) out[at + 1] = String(Number(out[at + 1]) + SCRIPT_TAG.length);
  return out;
}

/** A whole page (the broken-app page) with the tag. */
export function withScript(page: ResponseHead): ResponseHead {
  if (!wantsScript(page.status, page.headers)) return page;
  return {
    status: page.status,
    headers: grown(page.headers),
    body: Buffer.concat([page.body, SCRIPT_TAG]),
  };
}

/** Passes the app's response on, with the tag after its last byte. */
class ScriptSink implements ResponseSink {
  private inject = false;
  /** The app's own bytes passed on, and how many of them were credited back. */
  private appBytes = 0;
  private credited = 0;

  constructor(private readonly inner: ResponseSink) {}

  get status(): number {
    return this.inner.status;
  }
  get bytesSent(): number {
    return this.inner.bytesSent;
  }
  get headSent(): boolean {
    return this.inner.headSent;
  }
  get finished(): boolean {
    return this.inner.finished;
  }

  /** Credit for the app's bytes only: the tag is not the app's to be paid for. */
  private pay(flushed: Flushed | undefined): Flushed | undefined {
    if (flushed === undefined || !this.inject) return flushed;
    return (bytes) => {
      const due = Math.min(bytes, this.appBytes - this.credited);
      this.credited += due;
      if (due > 0) flushed(due);
    };
  }

  head(status: string, headers: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
    this.inject = wantsScript(status, headers);
    if (!this.inject) {
      this.inner.head(status, headers, body, end, flushed);
      return;
    }
    this.appBytes += body.length;
    const out = end ? Buffer.concat([body, SCRIPT_TAG]) : body;
    this.inner.head(status, grown(headers), out, end, this.pay(flushed));
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (!this.inject) {
      this.inner.data(chunk, end, flushed);
      return;
    }
    this.appBytes += chunk.length;
    this.inner.data(end ? Buffer.concat([chunk, SCRIPT_TAG]) : chunk, end, this.pay(flushed));
  }

  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void {
    if (!this.inject || !end) {
      this.inner.file(fd, offset, length, end, close);
      return;
    }
    this.inner.file(fd, offset, length, false, close);
    this.inner.data(SCRIPT_TAG, true);
  }

  fail(status: number, close?: boolean): void {
    this.inner.fail(status, close);
  }

  abort(): void {
    this.inner.abort();
  }
}

/** The transport's exchange with the ScriptSink in front of its response (as compress.ts). */
function withSink(inner: Exchange, sink: ResponseSink): Exchange {
  let gone: (() => void) | undefined;
  return Object.create(inner, {
    response: { value: sink, enumerable: true },
    onClientGone: {
      enumerable: true,
      get: () => gone,
      set: (callback: (() => void) | undefined) => {
        gone = callback;
        inner.onClientGone = callback;
      },
    },
  }) as Exchange;
}

export class InjectingHandler implements RequestHandler {
  constructor(private readonly app: RequestHandler) {}

  handle(exchange: Exchange): void {
    if (exchange.request.method === 'HEAD') this.app.handle(exchange);
    else this.app.handle(withSink(exchange, new ScriptSink(exchange.response)));
  }

  refused(status: number, error: CaskError | undefined, remoteAddr: string): void {
    this.app.refused(status, error, remoteAddr);
  }

  completed(exchange: Exchange): void {
    this.app.completed(exchange);
  }

  responseError(exchange: Exchange, message: string): void {
    this.app.responseError(exchange, message);
  }
}

/** The script and the event stream; `reload()` tells every open tab. */
export class ReloadEvents implements Route {
  private readonly streams = new Set<Exchange>();
  private count = 0;

  get listeners(): number {
    return this.streams.size;
  }

  take(exchange: Exchange): boolean {
    const path = targetPath(exchange.request.target);
    if (path === SCRIPT_PATH) {
      exchange.response.head(
        '200 OK',
        [
          'Content-Type',
          'text/javascript; charset=utf-8',
          'Content-Length',
          String(SCRIPT.length),
          'Cache-Control',
          'no-store',
        ],
        exchange.request.method === 'HEAD' ? Buffer.alloc(0) : SCRIPT,
        true,
      );
      return true;
    }
    if (path !== EVENTS_PATH) return false;
    const headers = ['Content-Type', 'text/event-stream', 'Cache-Control', 'no-store'];
    exchange.response.head('200 OK', headers, Buffer.from(': reloads of the app\n\n'), false);
    this.streams.add(exchange);
    exchange.onClientGone = () => this.streams.delete(exchange);
    return true;
  }

  /** Every open tab reloads. */
  reload(): void {
    const event = Buffer.from(`event: reload\ndata: ${++this.count}\n\n`);
    for (const exchange of this.streams) exchange.response.data(event, false);
  }

  /** Ends every stream (the server is stopping: an open stream would hold its drain). */
  close(): void {
    for (const exchange of this.streams) exchange.response.data(Buffer.alloc(0), true);
    this.streams.clear();
  }
}
