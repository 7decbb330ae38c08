// The HTTP/2 transport (RFC 9113) over node:http2: each stream becomes an Exchange
// (src/exchange.ts) for the same handler as HTTP/1.1. The front (src/http/front.ts) decides
// which connections speak it — ALPN over TLS, the connection preface in cleartext — and hands
// them here. Everything else in this folder is private to it.
//
//   sniff.ts     a cleartext connection's first bytes: HTTP/2 preface or HTTP/1.x
//   preface.ts   the preface test and the prebuilt refusals (pure)
//   server.ts    the node:http2 options from the settings; one session per connection
//   session.ts   one connection: registry entry, idle deadline, GOAWAY on shutdown
//   stream.ts    one stream as an exchange: body buffering, deadlines, reset = client gone
//   request.ts   a stream's header block as RequestInfo, with HTTP/1.1's refusals (pure)
//   response.ts  the ResponseSink of a stream: framing, length checks, spool, files

export { H2_ONLY_RESPONSE, H2_REFUSAL, sniffPreface } from './preface.js';
export { Http2Transport, type Http2Settings } from './server.js';
export type { SessionContext } from './session.js';
export { ProtocolSniffer, type Handover, type SniffOptions } from './sniff.js';
