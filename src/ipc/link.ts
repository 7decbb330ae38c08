// One worker's end of the link: frames out (batched per event-loop turn), frames in (routed by
// request id to the exchange waiting for them). Knows nothing of HTTP.

import type { Socket } from 'node:net';
import { LinkProtocolError, type WorkerError } from '../errors.js';
import { FrameDecoder } from './framer.js';
import { IdTable } from './id-table.js';
import { BufferLender, kept, readWithLoans, type Loan } from './read-loans.js';
import {
  FLAG_BINARY,
  FLAG_DETACHED,
  FLAG_END,
  Kind,
  decodeFiles,
  decodeHead,
  decodeLog,
  decodeSendFile,
  decodeWindow,
  decodeWsAccept,
  decodeWsClose,
  encodeWindow,
  frameHeader,
  INITIAL_WINDOW,
  type ResponseHead,
  type SendFile,
  type WsAccept,
  type WsClose,
} from './protocol.js';

/** What the link tells the party waiting for one request's response. */
export interface ExchangeSink {
  /**
   * The sink takes `body` and `chunk` on loan (src/ipc/read-loans.ts): with a `loan`, they
   * are views of the link's read buffer, valid past the call only while held. Sinks without
   * it are given copies.
   */
  readonly borrows?: boolean;
  onHead(status: string, headers: string[], body: Buffer, end: boolean, loan?: Loan): void;
  onData(chunk: Buffer, end: boolean, loan?: Loan): void;
  onSendFile(file: SendFile, end: boolean): void;
  /** The app failed (ERROR frame); `text` is the traceback. Final. */
  onAppError(text: string): void;
  /** The front gave up on the exchange: worker died (502), timeout (504), queue full (503). */
  onFail(error: WorkerError): void;
  /**
   * The development error page of the app's exception (ERROR_PAGE, sent only by a worker
   * started for `cask dev`); the ERROR frame follows.
   */
  onErrorPage?(page: ResponseHead): void;
  /** CREDIT: the worker took `bytes` of the request body (or of the client's WebSocket
   *  messages); that many more may be sent. */
  onCredit?(bytes: number): void;
  /** WS_ACCEPT: the app accepted the WebSocket. */
  onWsAccept?(accept: WsAccept): void;
  /** WS_SEND: one message from the app to the client. */
  onWsSend?(data: Buffer, binary: boolean): void;
  /** WS_CLOSE: the app closes the WebSocket; with `end`, its exchange is over (final). */
  onWsClose?(close: WsClose, end: boolean): void;
  /** The worker is let go past its graceful timeout: a WebSocket closes with 1001 and says
   *  true; anything else says false (and is aborted with its worker). */
  goingAway?(): boolean;
}

export interface LinkEvents {
  onReady(info: Record<string, unknown>): void;
  onLog(level: number, text: string): void;
  onLoadError(text: string): void;
  onStats(stats: Record<string, unknown>): void;
  /** Source files the app loaded (FILES, sent by a worker started to report them). */
  onFiles?(files: string[]): void;
  /** The development error page of an app that could not be loaded (ERROR_PAGE, id 0). */
  onLoadErrorPage?(page: ResponseHead): void;
  /** The worker asks to be replaced, saying why (RETIRE: a thread of its own is stuck). */
  onRetire?(reason: string): void;
  /** A final frame arrived for `id`: the worker has let go of that request. */
  onExchangeDone(id: number, sink: ExchangeSink): void;
  /** The worker gave back a request it had not started (answer to RECLAIM). */
  onReclaimed(id: number, sink: ExchangeSink): void;
  /** The request no longer holds a thread of the worker (FLAG_DETACHED); not final. */
  onDetached?(id: number): void;
  /** The Python stack of the thread running `id` (answer to STACK_DUMP; not final). */
  onStack?(id: number, text: string): void;
  /** The peer broke the protocol; the link is unusable. */
  onProtocolError(error: Error): void;
}

/** Credit is sent back in steps of at least this many bytes: one WINDOW frame (and one
 * wake-up of the worker) per quarter window rather than per chunk the client took. Below
 * the window, so a worker waiting for credit always gets it once enough has drained. */
export const GRANT_STEP = INITIAL_WINDOW / 4;

const ignore = (): void => {};
/** Stands in for an exchange whose client is gone: swallows what the worker still sends. */
const DETACHED: ExchangeSink = {
  borrows: true,
  onHead: ignore,
  onData: ignore,
  onSendFile: ignore,
  onAppError: ignore,
  onFail: ignore,
};

export class WorkerLink {
  // DATA is a byte stream: a frame cut by a read is handed on in parts, never copied.
  private readonly decoder = new FrameDecoder(Kind.DATA);
  private readonly sinks = new IdTable<ExchangeSink>();
  /** Credit earned by each exchange and not yet sent (less than GRANT_STEP). */
  private readonly owed = new IdTable<number>();
  private corked = false;
  private closed = false;
  private readonly socket: Socket;
  /** The buffers reads of the link go into (undefined: read as a plain stream). */
  readonly lender: BufferLender | undefined;

  constructor(
    socket: Socket,
    private readonly events: LinkEvents,
  ) {
    const lender = new BufferLender();
    const adopted = readWithLoans(socket, lender, (chunk, loan) => this.receive(chunk, loan));
    if (adopted === undefined) {
      socket.on('data', (chunk: Buffer) => this.receive(chunk, undefined));
      this.socket = socket;
    } else {
      this.socket = adopted;
      this.lender = lender;
    }
    // Errors surface as the worker's exit; the pool handles that.
    this.socket.on('error', () => {});
    this.socket.setNoDelay?.(true);
  }

  get inFlight(): number {
    return this.sinks.size;
  }

  /** Register the sink for `id`; then send its frames with `send`. */
  open(id: number, sink: ExchangeSink): void {
    this.sinks.set(id, sink);
  }

  /** Stop telling anyone about `id` but keep waiting for its final frame, which frees the
   *  worker's thread in the pool's accounting. */
  detach(id: number): ExchangeSink | undefined {
    const sink = this.sinks.get(id);
    if (sink !== undefined) this.sinks.set(id, DETACHED);
    return sink;
  }

  sinkOf(id: number): ExchangeSink | undefined {
    const sink = this.sinks.get(id);
    return sink === DETACHED ? undefined : sink;
  }

  /** All sinks still waiting: the pool fails them when the worker dies. */
  drainSinks(): Array<[number, ExchangeSink]> {
    const all = [...this.sinks];
    this.sinks.clear();
    this.owed.clear();
    return all;
  }

  send(id: number, kind: number, flags: number, payload?: Buffer): void {
    if (this.closed) return;
    // Cork until the end of this pass of the event loop, so the frames for every connection
    // whose bytes came in the same poll leave in one writev, and the worker wakes once for
    // all of them rather than once per connection (setImmediate runs right after the poll
    // phase that produced them: no wait is added).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    const length = payload === undefined ? 0 : payload.length;
    this.socket.write(frameHeader(id, kind, flags, length));
    if (length > 0) this.socket.write(payload as Buffer);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  grant(id: number, bytes: number): void {
    if (!this.sinks.has(id)) return;
    const total = (this.owed.get(id) ?? 0) + bytes;
    if (total < GRANT_STEP) {
      this.owed.set(id, total);
      return;
    }
    this.owed.delete(id);
    this.send(id, Kind.WINDOW, 0, encodeWindow(total));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /**
   * Calls `then` once everything the worker wrote has been read and dispatched (the link's
   * end), or after `limitMs` if the end does not come (a process the worker forked may still
   * hold its end of the link open). For a worker that exited: the last frames it sent, a
   * response finished just before it died, come in before its requests are failed.
   */
  afterEnd(limitMs: number, then: () => void): void {
    const socket = this.socket;
    if (this.closed || socket.readableEnded || socket.destroyed) {
      then();
      return;
    }
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('end', finish);
      socket.off('close', finish);
      then();
    };
    const timer = setTimeout(finish, limitMs);
    socket.once('end', finish);
    socket.once('close', finish);
  }

  private receive(chunk: Buffer, loan: Loan | undefined): void {
    // After a protocol error (or close()) nothing more from this worker is believed, even
    // bytes already read: found by test/unit/ipc-fuzz.test.ts.
    if (this.closed) return;
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const frame of frames) {
      try {
        this.dispatch(frame.id, frame.kind, frame.flags, frame.payload, loan);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.events.onProtocolError(error);
  }

  private dispatch(
    id: number,
    kind: number,
    flags: number,
    lent: Buffer,
    loan: Loan | undefined,
  ): void {
    const end = (flags & FLAG_END) !== 0;
    // Only a response's head and body go on lent, to sinks that take loans; every other
    // frame is small, rare, or kept (an error page, a WebSocket message): it gets a copy.
    const lends = loan !== undefined && (kind === Kind.HEAD || kind === Kind.DATA);
    const payload = lends ? lent : kept(lent, loan);
    if (id === 0) {
      this.dispatchLinkFrame(kind, payload);
      return;
    }
    const sink = this.sinks.get(id);
    // A frame for an exchange already forgotten (timed out, client gone) is dropped.
    if (sink === undefined) {
      if (kind === Kind.SENDFILE) this.send(id, Kind.FILE_TAKEN, 0);
      return;
    }
    if (sink === DETACHED && kind === Kind.RECLAIMED) {
      this.forget(id);
      this.events.onReclaimed(id, sink);
      return;
    }
    switch (kind) {
      case Kind.HEAD: {
        const head = decodeHead(payload);
        if (end) this.finish(id);
        else if ((flags & FLAG_DETACHED) !== 0) this.events.onDetached?.(id);
        if (sink.borrows === true) sink.onHead(head.status, head.headers, head.body, end, loan);
        else sink.onHead(head.status, head.headers, kept(head.body, loan), end);
        return;
      }
      case Kind.DATA:
        if (end) this.finish(id);
        else if ((flags & FLAG_DETACHED) !== 0) this.events.onDetached?.(id);
        if (sink.borrows === true) sink.onData(payload, end, loan);
        else sink.onData(kept(payload, loan), end);
        return;
      case Kind.SENDFILE:
        if (end) this.finish(id);
        sink.onSendFile(decodeSendFile(payload), end);
        // The file is opened synchronously by the sink, so the worker may close its copy now.
        this.send(id, Kind.FILE_TAKEN, 0);
        return;
      case Kind.ERROR:
        this.finish(id);
        sink.onAppError(payload.toString('utf8'));
        return;
      case Kind.RECLAIMED:
        // Not a completion: the pool must not take it as progress of the worker.
        this.forget(id);
        this.events.onReclaimed(id, sink);
        return;
      case Kind.LOG: {
        const log = decodeLog(payload);
        this.events.onLog(log.level, log.text);
        return;
      }
      case Kind.STACK:
        this.events.onStack?.(id, payload.toString('utf8'));
        return;
      case Kind.ERROR_PAGE:
        sink.onErrorPage?.(decodeHead(payload));
        return;
      case Kind.CREDIT:
        sink.onCredit?.(decodeWindow(payload));
        return;
      case Kind.WS_SEND:
        sink.onWsSend?.(payload, (flags & FLAG_BINARY) !== 0);
        return;
      case Kind.WS_ACCEPT:
        sink.onWsAccept?.(decodeWsAccept(payload));
        return;
      case Kind.WS_CLOSE: {
        const close = decodeWsClose(payload);
        if (end) this.finish(id);
        sink.onWsClose?.(close, end);
        return;
      }
      default:
        throw new LinkProtocolError(`Unknown frame kind from worker: 0x${kind.toString(16)}`);
    }
  }

  private finish(id: number): void {
    const sink = this.sinks.get(id);
    this.forget(id);
    if (sink !== undefined) this.events.onExchangeDone(id, sink);
  }

  /** The worker has let go of `id`: no frame, and no credit, is owed to it any more. */
  private forget(id: number): void {
    this.sinks.delete(id);
    this.owed.delete(id);
  }

  private dispatchLinkFrame(kind: number, payload: Buffer): void {
    switch (kind) {
      case Kind.READY:
        this.events.onReady(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
        return;
      case Kind.LOG: {
        const log = decodeLog(payload);
        this.events.onLog(log.level, log.text);
        return;
      }
      case Kind.LOAD_ERROR:
        this.events.onLoadError(payload.toString('utf8'));
        return;
      case Kind.STATS:
        this.events.onStats(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
        return;
      case Kind.FILES:
        this.events.onFiles?.(decodeFiles(payload));
        return;
      case Kind.RETIRE:
        this.events.onRetire?.(payload.toString('utf8'));
        return;
      case Kind.ERROR_PAGE:
        this.events.onLoadErrorPage?.(decodeHead(payload));
        return;
      default:
        throw new LinkProtocolError(`Unknown link frame kind from worker: 0x${kind.toString(16)}`);
    }
  }
}
