// The one contract between the ways in and the way on. Every transport — the HTTP/1.1
// connection, an HTTP/2 stream, and the drivers for protocols a web server in front speaks —
// turns what came off its wire into an Exchange and hands it to a RequestHandler; the router,
// the probes, the gateway and the environ builder know this module and nothing of any wire.
//
//   transport ──Exchange──▶ RequestHandler (router ▶ probes | gateway ▶ worker)
//             ◀─ResponseSink calls (head, data, file, fail, abort) with credit callbacks
//
// Rules every transport keeps:
// - `request` is complete and validated when handle() is called; `body` is read whole (memory
//   or a temporary file) unless the transport says otherwise, so a slow upload never holds a
//   worker.
// - The sink takes the app's bytes in order and pays `flushed(n)` once it has taken them in
//   hand (not when the client has read them), so a slow client never holds the app: where they
//   wait meanwhile is the transport's business (response-spool.ts for HTTP/1.1).
// - `onClientGone` is called at most once, if the client leaves (disconnect, stream reset)
//   before the response is done; `completed()` is called once per exchange either way.
// - A request that asks to become a WebSocket carries a `websocket` offer when the transport
//   can switch (HTTP/1.1 Upgrade, RFC 6455 §4). The handler either accepts it, and from then
//   on messages flow through the channel it gets back (the sink is not used), or answers the
//   request through the sink like any other, which refuses the switch. An accepted exchange is
//   completed when the WebSocket closes.

import type { RequestBody } from './http/body.js';
import type { CaskError } from './errors.js';
import type { Loan } from './ipc/read-loans.js';

/** What a listener tells every exchange that came through it. */
export interface ListenerInfo {
  scheme: 'http' | 'https';
  /** The listener's own address, used when a request names no host. */
  serverName: string;
  serverPort: string;
}

/** A request as every transport delivers it. */
export interface RequestInfo {
  /** e.g. 'GET' (a token, case-sensitive as sent) */
  method: string;
  /** The request-target exactly as sent (latin1): origin-form, absolute-form or `*`. */
  target: string;
  /** `SERVER_PROTOCOL`: 'HTTP/1.0', 'HTTP/1.1' or 'HTTP/2'. */
  protocol: string;
  /** Flat [name, value, name, value, ...]; values latin1 without surrounding whitespace. */
  headers: string[];
  /** The Host (or `:authority`), '' when the request named none. */
  host: string;
  /** The body's declared length; -1 when none was declared. */
  contentLength: number;
  /** The body came without a declared length (chunked, or HTTP/2 DATA frames). */
  chunked: boolean;
  /**
   * The CGI variables a web server in front computed for this request (uwsgi, SCGI, FastCGI:
   * src/cgi/), flat [NAME, VALUE, …], other than those the fields above carry: SCRIPT_NAME,
   * PATH_INFO, QUERY_STRING, SERVER_NAME, SERVER_PORT, HTTPS, DOCUMENT_ROOT and whatever else
   * it was told to pass. The environ builder uses them as they are, over what it would derive
   * from the target and the listener; undefined for a request that came over HTTP.
   */
  cgi?: readonly string[];
}

/** Called with the credit the app earned: its body bytes the transport has taken in hand. */
export type Flushed = (bytes: number) => void;

/** Where the app's response goes. Methods are called in order; all are no-ops once finished. */
export interface ResponseSink {
  /** The status code sent (0 until the head goes out). */
  readonly status: number;
  /** Body bytes sent, for the access log. */
  readonly bytesSent: number;
  readonly headSent: boolean;
  readonly finished: boolean;
  /**
   * The sink takes body bytes on loan: with a `loan`, `body` and `chunk` are views of a
   * buffer that is used again once the call returns, unless the sink holds the loan until it
   * is done with them (src/ipc/read-loans.ts). Sinks without it are given copies.
   */
  readonly borrows?: boolean;
  /** Status line and headers from the app, plus the first body bytes. */
  head(
    status: string,
    headers: string[],
    body: Buffer,
    end: boolean,
    flushed?: Flushed,
    loan?: Loan,
  ): void;
  data(chunk: Buffer, end: boolean, flushed?: Flushed, loan?: Loan): void;
  /**
   * Send `length` bytes (undefined: to EOF) of the open file `fd` from `offset`. The sink calls
   * `close(fd)` exactly once for every call, also when the response is cut or the client is
   * gone before the file's turn comes (several calls may share one descriptor).
   */
  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void;
  /**
   * A canned error if nothing went out yet, else the response is cut. `close` asks the
   * transport to end the connection after it (a request refused as malformed).
   */
  fail(status: number, close?: boolean): void;
  /** Cut the response: the client sees it end early. */
  abort(): void;
}

/**
 * The TLS facts of one connection, as mod_ssl names them for CGI (`SSL_*`). A transport reads
 * them once per connection with `readTlsInfo()` (src/net/tls.ts).
 */
export interface TlsInfo {
  /** `SSL_PROTOCOL`: 'TLSv1.2' or 'TLSv1.3'. */
  readonly protocol: string;
  /** `SSL_CIPHER`: the OpenSSL name of the cipher suite, e.g. 'TLS_AES_128_GCM_SHA256'. */
  readonly cipher: string;
  /** `SSL_CLIENT_VERIFY`: 'SUCCESS' when the client's certificate verified against ca-certs. */
  readonly clientVerify: 'SUCCESS' | 'NONE';
  /** `SSL_CLIENT_S_DN`: the verified client certificate's subject (RFC 4514), else ''. */
  readonly clientSubject: string;
  /** `SSL_CLIENT_I_DN`: its issuer (RFC 4514), else ''. */
  readonly clientIssuer: string;
}

/** Who is on the other end. */
export interface ClientInfo {
  /** The client's address: the peer's, or what a trusted PROXY header said. */
  readonly remoteAddr: string;
  readonly remotePort: string;
  /** `remoteAddr` is in forwarded-allow-ips (or a Unix socket): its proxy headers count. */
  readonly trusted: boolean;
  /** Set when the connection is TLS (HTTPS): `HTTPS=on` and the `SSL_*` variables. */
  readonly tls?: TlsInfo;
}

/** A request asking to become a WebSocket, as the transport that can switch offers it. */
export interface WebSocketOffer {
  /** The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order. */
  readonly subprotocols: readonly string[];
  /**
   * Finish the handshake with the app's subprotocol (one of those offered) and extra response
   * headers (flat [name, value, …], already checked); the client's side reaches `peer`.
   */
  accept(
    subprotocol: string | undefined,
    headers: readonly string[],
    peer: WebSocketPeer,
  ): WebSocketChannel;
}

/** What the transport tells the handler of an accepted WebSocket. */
export interface WebSocketPeer {
  /** One whole message from the client (text is UTF-8, already validated). */
  message(data: Buffer, binary: boolean): void;
  /** The WebSocket is closed: the client's close frame, an answer to ours, or the connection
   *  lost (1006). Called once; nothing follows. */
  closed(code: number, reason: string): void;
}

/** The handler's end of an accepted WebSocket. */
export interface WebSocketChannel {
  /** Send one message; `taken` runs once the transport has handed it to the socket (so the
   *  app may be credited for it), also when the WebSocket closed first. */
  send(data: Buffer, binary: boolean, taken: () => void): void;
  /** Start the closing handshake (RFC 6455 §7.1.2). */
  close(code: number, reason: string): void;
  /** Stop taking messages from the client (the app has not read the last ones), and resume. */
  pause(): void;
  resume(): void;
  /** Bytes of messages sent and not yet handed to the client. */
  readonly bufferedAmount: number;
}

export interface Exchange extends ClientInfo {
  readonly request: RequestInfo;
  readonly body: RequestBody;
  readonly response: ResponseSink;
  readonly listener: ListenerInfo;
  /** Set by the handler: called when the client goes away before the response is done. */
  onClientGone: (() => void) | undefined;
  /** Set by the transport when the request asks to become a WebSocket and it can switch. */
  readonly websocket?: WebSocketOffer | undefined;
  /**
   * The handler's own record of this exchange, read back in completed() (the gateway keeps
   * its job there: the request's timings). A transport sets it to undefined and never reads it.
   */
  handlerState?: unknown;
}

export interface RequestHandler {
  handle(exchange: Exchange): void;
  /** A request was refused by a transport (bad HTTP, timeout); for counters and logs. */
  refused(status: number, error: CaskError | undefined, remoteAddr: string): void;
  /** A response is complete (or was abandoned); for the access log. */
  completed(exchange: Exchange): void;
  /** The app's response broke HTTP (a wrong Content-Length, say); for the error log. */
  responseError(exchange: Exchange, message: string): void;
}
