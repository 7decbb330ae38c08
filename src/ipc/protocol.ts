// The worker-link codec: pure functions, no sockets. docs/protocol.md is the specification;
// python/cask_worker/protocol.py mirrors every constant, and both are tested against
// test/fixtures/ipc-vectors/vectors.json.
//
//  0               4               8       9      10              12
//  +---------------+---------------+-------+-------+---------------+-----------------+
//  | payload length| request id    | kind  | flags | reserved = 0  | payload ...     |
//  +---------------+---------------+-------+-------+---------------+-----------------+
//    u32 BE          u32 BE          u8      u8      u16 BE          `length` bytes
//
// Decoding what a worker sent throws LinkProtocolError (CASK_LINK_PROTOCOL): the worker is
// then replaced. Encoding checks throw RangeError: they guard the front's own calls.

import { LinkProtocolError } from '../errors.js';

export const HEADER_SIZE = 12;
export const MAX_PAYLOAD = 16 * 1024 * 1024;
export const INITIAL_WINDOW = 1024 * 1024;
/**
 * What one WebSocket message (WS_MESSAGE, WS_SEND) costs its window on top of its payload.
 * Each message is a link frame with a 12-byte header and an object or two on each side (the
 * front's queue entry and write, the worker's bytes and inbox entry), whatever its size: if
 * only payload counted, a window of 1 MiB would let a million 1-byte messages (or any number
 * of empty ones) pile up. With this charge a window holds at most about 16k tiny messages.
 * The side that takes a message credits what was charged, payload and this, so the constant
 * is the same in python/cask_worker/protocol.py.
 */
export const WS_MESSAGE_COST = 64;
export const FLAG_END = 0x01;
/** WS_MESSAGE and WS_SEND: the message is binary (else UTF-8 text). */
export const FLAG_BINARY = 0x02;
/**
 * HEAD or DATA without END: from this frame on, the request holds no thread of the worker (a
 * push stream sends the rest of its response from the app's own threads; docs/asgi.md).
 */
export const FLAG_DETACHED = 0x04;
/** SENDFILE length meaning "to the end of the file". */
export const TO_EOF = 0xffff_ffff_ffff_ffffn;

export const Kind = {
  // front -> worker
  REQUEST: 0x01,
  BODY: 0x02,
  BODY_FILE: 0x03,
  CANCEL: 0x04,
  WINDOW: 0x05,
  FILE_TAKEN: 0x06,
  STOP: 0x07,
  RECLAIM: 0x08,
  TIMEOUT: 0x09,
  CONSOLE: 0x0b,
  STACK_DUMP: 0x0a,
  WEBSOCKET: 0x0c,
  WS_MESSAGE: 0x0d,
  WS_CLOSED: 0x0e,
  END_STREAM: 0x0f,
  // worker -> front
  HEAD: 0x11,
  DATA: 0x12,
  SENDFILE: 0x13,
  ERROR: 0x14,
  RECLAIMED: 0x15,
  STACK: 0x17,
  ERROR_PAGE: 0x16,
  CREDIT: 0x18,
  WS_ACCEPT: 0x19,
  WS_SEND: 0x1a,
  WS_CLOSE: 0x1b,
  READY: 0x20,
  LOG: 0x21,
  LOAD_ERROR: 0x22,
  STATS: 0x23,
  FILES: 0x24,
  RETIRE: 0x25,
} as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];

export interface Frame {
  id: number;
  kind: number;
  flags: number;
  payload: Buffer;
}

export function frameHeader(id: number, kind: number, flags: number, length: number): Buffer {
  if (length > MAX_PAYLOAD) throw new RangeError(`Frame payload too large: ${length} bytes`);
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(id, 4);
  header[8] = kind;
  header[9] = flags;
  header.writeUInt16BE(0, 10);
  return header;
}

export function encodeFrame(id: number, kind: number, flags: number, payload?: Buffer): Buffer {
  const length = payload === undefined ? 0 : payload.length;
  const header = frameHeader(id, kind, flags, length);
  return length === 0 ? header : Buffer.concat([header, payload as Buffer], HEADER_SIZE + length);
}

/**
 * Environ payload: `KEY\0VALUE\0KEY\0VALUE…` in latin-1. The values are already PEP 3333
 * native strings (bytes decoded as latin-1), so latin-1 re-encoding is lossless.
 */
export function encodeEnviron(pairs: readonly string[]): Buffer {
  return Buffer.from(pairs.join('\0'), 'latin1');
}

export function decodeEnviron(payload: Buffer): Record<string, string> {
  const parts = payload.toString('latin1').split('\0');
  const environ: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2)
    environ[parts[i] as string] = parts[i + 1] as string;
  return environ;
}

export interface ResponseHead {
  status: string;
  /** flat [name, value, name, value, …] */
  headers: string[];
  body: Buffer;
}

export function encodeHead(status: string, headers: readonly string[], body: Buffer): Buffer {
  const head = headers.length === 0 ? status : `${status}\0${headers.join('\0')}`;
  const headLength = Buffer.byteLength(head, 'latin1');
  const payload = Buffer.allocUnsafe(4 + headLength + body.length);
  payload.writeUInt32BE(headLength, 0);
  payload.write(head, 4, 'latin1');
  body.copy(payload, 4 + headLength);
  return payload;
}

export function decodeHead(payload: Buffer): ResponseHead {
  if (payload.length < 4) throw new LinkProtocolError('HEAD payload shorter than its length field');
  const headLength = payload.readUInt32BE(0);
  if (4 + headLength > payload.length) {
    throw new LinkProtocolError(`HEAD length field past the payload: ${headLength}`);
  }
  const parts = payload.toString('latin1', 4, 4 + headLength).split('\0');
  const status = parts[0] as string;
  return { status, headers: parts.slice(1), body: payload.subarray(4 + headLength) };
}

export function encodeWindow(bytes: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(bytes, 0);
  return payload;
}

export function decodeWindow(payload: Buffer): number {
  if (payload.length !== 4)
    throw new LinkProtocolError(`WINDOW payload must be 4 bytes: ${payload.length}`);
  return payload.readUInt32BE(0);
}

export interface SendFile {
  offset: number;
  /** bytes to send, or undefined for "to the end of the file" */
  length: number | undefined;
  path: string;
}

export function encodeSendFile(file: SendFile): Buffer {
  const path = Buffer.from(file.path, 'utf8');
  const payload = Buffer.allocUnsafe(16 + path.length);
  payload.writeBigUInt64BE(BigInt(file.offset), 0);
  payload.writeBigUInt64BE(file.length === undefined ? TO_EOF : BigInt(file.length), 8);
  path.copy(payload, 16);
  return payload;
}

export function decodeSendFile(payload: Buffer): SendFile {
  if (payload.length < 16) throw new LinkProtocolError('SENDFILE payload shorter than 16 bytes');
  const offset = payload.readBigUInt64BE(0);
  const length = payload.readBigUInt64BE(8);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER))
    throw new LinkProtocolError(`SENDFILE offset too large: ${offset}`);
  if (length !== TO_EOF && length > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LinkProtocolError(`SENDFILE length too large: ${length}`);
  }
  return {
    offset: Number(offset),
    length: length === TO_EOF ? undefined : Number(length),
    path: payload.toString('utf8', 16),
  };
}

export function encodeLog(level: number, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const payload = Buffer.allocUnsafe(1 + body.length);
  payload[0] = level;
  body.copy(payload, 1);
  return payload;
}

export function decodeLog(payload: Buffer): { level: number; text: string } {
  if (payload.length < 1) throw new LinkProtocolError('LOG payload is empty');
  return { level: payload[0] as number, text: payload.toString('utf8', 1) };
}

/** FILES payload: a JSON array of absolute paths; anything else breaks the protocol. */
export function decodeFiles(payload: Buffer): string[] {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new LinkProtocolError('FILES payload is not JSON');
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new LinkProtocolError('FILES payload is not an array of paths');
  }
  return value as string[];
}

/** WS_CLOSED and WS_CLOSE payload: u16 close code, UTF-8 reason (RFC 6455 §5.5.1); empty: none. */
export interface WsClose {
  /** 1005 (RFC 6455 §7.1.5, "no status") when the payload is empty. */
  code: number;
  reason: string;
}

export function encodeWsClose(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}

export function decodeWsClose(payload: Buffer): WsClose {
  if (payload.length === 0) return { code: 1005, reason: '' };
  if (payload.length < 2) throw new LinkProtocolError('WS_CLOSE payload shorter than its code');
  return { code: payload.readUInt16BE(0), reason: payload.toString('utf8', 2) };
}

/** WS_ACCEPT payload: `SUBPROTOCOL\0NAME\0VALUE…` in latin-1; an empty first string: none. */
export interface WsAccept {
  subprotocol: string | undefined;
  /** flat [name, value, …] */
  headers: string[];
}

export function encodeWsAccept(
  subprotocol: string | undefined,
  headers: readonly string[],
): Buffer {
  return Buffer.from([subprotocol ?? '', ...headers].join('\0'), 'latin1');
}

export function decodeWsAccept(payload: Buffer): WsAccept {
  const parts = payload.toString('latin1').split('\0');
  if (parts.length % 2 !== 1)
    throw new LinkProtocolError('WS_ACCEPT has a header name without a value');
  const first = parts[0] as string;
  return { subprotocol: first === '' ? undefined : first, headers: parts.slice(1) };
}
