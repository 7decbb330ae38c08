// Private to src/http2: a cleartext connection whose protocol is not known yet. It reads until
// the first bytes tell HTTP/2 prior knowledge from HTTP/1.x (preface.ts), puts every byte back
// into the socket, and hands the socket on. Over TLS, ALPN has already decided (front.ts).
//
// Under `--http auto` an HTTP/1.1 Connection is made at once and only a connection whose first
// bytes could start the preface comes here, with them (Connection's takeover); under
// `--http 2`, or with a PROXY header to read first, every cleartext connection starts here.
//
// On a `--proxy-protocol` listener the PROXY header comes first: it is read here to find where
// the HTTP bytes start. An HTTP/1.x connection gets the header back too and its Connection
// reads it again as usual (a hundred bytes, once per connection); an HTTP/2 one takes the
// client's address from it here.
//
// It sits in the front's registry meanwhile, so it counts against max-connections and a client
// that sends nothing is closed when `header-timeout` (else `keep-alive`) has passed since the
// accept, as an HTTP/1.1 connection would be.

import type { Socket } from 'node:net';
import type { ClientInfo } from '../exchange.js';
import type { AllowList } from '../net/allow-ips.js';
import { ProxyHeaderReader } from '../net/proxy-protocol.js';
import type { FrontConnection } from '../http/connection.js';
import { sniffPreface } from './preface.js';

export interface SniffOptions {
  /** The connection must start with a PROXY protocol header. */
  proxyProtocol: boolean;
  allow: AllowList;
  /** How long to wait for the bytes that decide; 0 for no limit. */
  waitMs: number;
}

/**
 * Where the socket goes once its protocol is known; every byte read is back in it. `client`
 * says who sent them (from the PROXY header, which HTTP/2 does not get back; HTTP/1.x gets the
 * bytes as they came); `acceptedAt` is when the socket was accepted, for the first deadline.
 */
export type Handover = (
  socket: Socket,
  protocol: 'h2' | 'http1',
  client: ClientInfo,
  acceptedAt: number,
) => void;

export class ProtocolSniffer implements FrontConnection {
  /** Every byte read, to put back for HTTP/1.x. */
  private readonly raw: Buffer[] = [];
  /** The bytes after the PROXY header (all of them without one), to sniff and put back for HTTP/2. */
  private http: Buffer[] = [];
  private httpLength = 0;
  private proxyReader: ProxyHeaderReader | undefined;
  private readonly deadline: number;
  private readonly allow: AllowList;
  private client: ClientInfo;
  private done = false;

  /**
   * @param acceptedAt when the socket was accepted
   * @param first bytes already read from it (an HTTP/1.1 Connection's takeover), if any
   */
  constructor(
    private readonly socket: Socket,
    private readonly registry: Set<FrontConnection>,
    options: SniffOptions,
    private readonly handover: Handover,
    private readonly acceptedAt = Date.now(),
    first?: Buffer,
  ) {
    const remoteAddr = socket.remoteAddress ?? '';
    this.client = {
      remoteAddr,
      remotePort: socket.remotePort === undefined ? '' : String(socket.remotePort),
      trusted: options.allow.trustsPeer(remoteAddr),
    };
    this.deadline = options.waitMs > 0 ? this.acceptedAt + options.waitMs : 0;
    this.allow = options.allow;
    registry.add(this);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', () => {});
    socket.on('close', this.onClose);
    if (options.proxyProtocol) {
      if (!this.client.trusted) {
        // Not from a trusted balancer: the HTTP/1.1 connection refuses it with its 400.
        this.decide('http1');
        return;
      }
      this.proxyReader = new ProxyHeaderReader();
    }
    if (first !== undefined) this.onData(first);
  }

  /** Not yet known: the first bytes decide between HTTP/1.x and HTTP/2. */
  readonly protocol = 'sniffing';
  readonly phase = 'reading';

  get idle(): boolean {
    return true;
  }

  tick(now: number): void {
    if (this.deadline !== 0 && now >= this.deadline) this.socket.destroy();
  }

  shutdown(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.raw.push(chunk);
    let bytes = chunk;
    if (this.proxyReader !== undefined) {
      let result;
      try {
        result = this.proxyReader.push(chunk);
      } catch {
        this.decide('http1'); // its Connection reads the same bytes and refuses them
        return;
      }
      if (result === null) return;
      this.proxyReader = undefined;
      const { header, rest } = result;
      if (header.kind === 'proxied') {
        this.client = {
          remoteAddr: header.sourceAddress,
          remotePort: String(header.sourcePort),
          trusted: this.allow.has(header.sourceAddress),
        };
      }
      bytes = rest;
      if (bytes.length === 0) return;
    }
    this.http.push(bytes);
    this.httpLength += bytes.length;
    const sniffed = sniffPreface(
      this.http.length === 1 ? bytes : Buffer.concat(this.http, this.httpLength),
    );
    if (sniffed !== 'more') this.decide(sniffed);
  };

  private readonly onEnd = (): void => {
    // Closed before saying anything decisive: there is no request to answer.
    if (!this.done) this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.registry.delete(this);
  };

  private decide(protocol: 'h2' | 'http1'): void {
    this.done = true;
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    this.registry.delete(this);
    socket.pause();
    const back = protocol === 'h2' ? this.http : this.raw;
    if (back.length > 0)
      socket.unshift(back.length === 1 ? (back[0] as Buffer) : Buffer.concat(back));
    this.http = [];
    this.handover(socket, protocol, this.client, this.acceptedAt);
  }
}
