// Private to src/static: whether `--compress` compresses one app response, and the head it then
// carries, as pure functions of the request and the app's status and headers.
//
//   skip      the response goes out as the app wrote it
//   vary      as the app wrote it, plus `Vary: Accept-Encoding`: it could have been compressed
//             for another client, so a cache must not hand this copy to everyone
//   compress  Content-Encoding set, Content-Length and Accept-Ranges dropped, a strong ETag
//             made weak (the bytes differ from the app's, RFC 9110 §8.8.1), Vary added

import type { Coding } from './encoding.js';

export type CompressDecision = 'skip' | 'vary' | 'compress';

export interface CompressRequest {
  /** The coding the client prefers among those we make; undefined when it takes none. */
  readonly coding: Coding | undefined;
  /** The request had a Range field: the app may answer a part, never compressed. */
  readonly ranged: boolean;
}

export interface CompressRules {
  readonly minSize: number;
  /** Whether a Content-Type value is one to compress (types.ts typeMatcher). */
  readonly types: (contentType: string) => boolean;
}

/**
 * @param bodyLength the whole body's length when the app gave it at once, else undefined
 */
export function decideCompression(
  request: CompressRequest,
  status: number,
  headers: readonly string[],
  bodyLength: number | undefined,
  rules: CompressRules,
): CompressDecision {
  // RFC 9110 §15: no content (204, 304, 1xx) or a part of one (206) is never encoded here.
  if (status < 200 || status === 204 || status === 206 || status === 304) return 'skip';
  let type: string | undefined;
  let length = bodyLength;
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name === 'content-type') type = value;
    else if (name === 'content-encoding' || name === 'content-range') return 'skip';
    else if (name === 'cache-control' && /(?:^|[\s,])no-transform(?:$|[\s,=])/i.test(value)) {
      return 'skip'; // RFC 9111 §5.2.2.6
    } else if (name === 'content-length' && length === undefined && /^\d+$/.test(value)) {
      length = Number(value);
    }
  }
  if (type === undefined || !rules.types(type)) return 'skip';
  if (length !== undefined && length < rules.minSize) return 'skip';
  if (request.coding === undefined || request.ranged) return 'vary';
  return 'compress';
}

/** The app's headers with Vary naming Accept-Encoding (added, or appended to the app's own). */
export function withVary(headers: readonly string[]): string[] {
  const out = [...headers];
  for (let i = 0; i < out.length; i += 2) {
    if ((out[i] as string).toLowerCase() !== 'vary') continue;
    const value = out[i + 1] as string;
    if (value.trim() === '*' || /(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(value)) return out;
    out[i + 1] = value.trim() === '' ? 'Accept-Encoding' : `${value}, Accept-Encoding`;
    return out;
  }
  out.push('Vary', 'Accept-Encoding');
  return out;
}

/** The head of a compressed response (see the header of this file). */
export function compressedHeaders(headers: readonly string[], coding: Coding): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'accept-ranges') continue;
    if (lower === 'etag' && value.startsWith('"')) out.push(name, `W/${value}`);
    else out.push(name, value);
  }
  out.push('Content-Encoding', coding);
  return withVary(out);
}
