// Private to src/http2: the HTTP/2 transport of a front. node:http2 does the protocol — frames,
// HPACK, flow control, stream states, the floods of RFC 9113 §10.5 (SETTINGS, PING, RST_STREAM
// "rapid reset", empty frames) — and this module hands it each connection the front has decided
// is HTTP/2, with limits from the same settings as HTTP/1.1.
//
// One `http2.Http2Server` is made per front and never listens: it only holds the options and
// turns a socket into a session when the socket is emitted as its 'connection' (the documented
// way to hand node:http2 a socket it did not accept). Bytes the front already read to tell the
// protocol (sniff.ts) are put back with `socket.unshift()`: a new session feeds whatever is in
// the socket's readable buffer to nghttp2 before anything else (node's Http2Session constructor,
// since nodejs/node#35475), so nothing is lost.

import { createServer, type Http2Server, type ServerHttp2Session, type Settings } from 'node:http2';
import type { Socket } from 'node:net';
import type { ClientInfo, ListenerInfo } from '../exchange.js';
import { MEMORY_MARK } from '../http/response-spool.js';
import { Http2Connection, type SessionContext } from './session.js';

/** Largest SETTINGS_MAX_HEADER_LIST_SIZE node:http2 accepts (2^32 - 1). */
const MAX_HEADER_LIST = 2 ** 32 - 1;
/** Per field, HPACK counts 32 bytes on top of the name and value (RFC 7541 §4.1). */
const FIELD_OVERHEAD = 32;
/** The four request pseudo-headers (:method, :scheme, :authority, :path). */
const PSEUDO_HEADERS = 4;
/** node:http2's own default session memory (MB): frames, HPACK tables, header blocks. */
const SESSION_MEMORY_MB = 10;

export interface Http2Settings {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (`http2-max-streams`). */
  maxStreams: number;
  /** `limit-request-fields` */
  maxHeaderCount: number;
  /** `limit-request-field-size`; 0 for no limit. */
  maxHeaderFieldSize: number;
}

/**
 * The node:http2 options for the limits: SETTINGS_MAX_HEADER_LIST_SIZE holds every field at its
 * largest, and nghttp2 resets a stream past it (ENHANCE_YOUR_CALM) before its fields take memory;
 * the field count nghttp2 allows is twice ours, so a request with a few fields too many gets the
 * same 431 as over HTTP/1.1 (request.ts) and only a flood is cut short.
 *
 * node:http2 counts the bytes queued on a session's streams against `maxSessionMemory` and
 * refuses new streams past it (ENHANCE_YOUR_CALM). Each stream may queue up to MEMORY_MARK
 * (256 KiB) for a slow client before the spool takes the rest to a file, so the cap makes room
 * for that on every stream: measured, 60 streams nobody read on one connection (15 MiB queued)
 * got the 61st refused under node's default of 10 MB.
 */
export function sessionOptions(settings: Http2Settings): {
  settings: Settings;
  maxHeaderListPairs: number;
  maxSessionMemory: number;
} {
  const fields = settings.maxHeaderCount + PSEUDO_HEADERS;
  const maxHeaderListSize =
    settings.maxHeaderFieldSize > 0
      ? Math.min(MAX_HEADER_LIST, fields * (settings.maxHeaderFieldSize + FIELD_OVERHEAD))
      : MAX_HEADER_LIST;
  return {
    settings: { maxConcurrentStreams: settings.maxStreams, maxHeaderListSize },
    maxHeaderListPairs: 2 * fields,
    maxSessionMemory:
      SESSION_MEMORY_MB + Math.ceil((settings.maxStreams * MEMORY_MARK) / (1024 * 1024)),
  };
}

export class Http2Transport {
  private readonly server: Http2Server;
  /** The session node:http2 made for the socket being handed over (set synchronously). */
  private adopted: ServerHttp2Session | undefined;

  constructor(
    settings: Http2Settings,
    private readonly context: SessionContext,
  ) {
    this.server = createServer(sessionOptions(settings));
    this.server.on('session', (session: ServerHttp2Session) => {
      this.adopted = session;
    });
  }

  /** Serve `socket` as HTTP/2; any bytes already read from it must have been unshifted. */
  accept(socket: Socket, listener: ListenerInfo, client: ClientInfo, acceptedAt: number): void {
    this.adopted = undefined;
    this.server.emit('connection', socket);
    const session = this.adopted as ServerHttp2Session | undefined;
    this.adopted = undefined;
    if (session === undefined) {
      // node:http2 turned the socket away (a TLS socket whose ALPN was not h2 never gets here).
      socket.destroy();
      return;
    }
    new Http2Connection(session, socket, this.context, listener, client, acceptedAt);
  }
}
