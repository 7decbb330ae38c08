// Private to src/static: which content coding to answer with, from Accept-Encoding's q-values
// (RFC 9110 §12.5.3), for precompressed siblings and for `--compress` alike.
//
//   Accept-Encoding: gzip;q=0.8, br        and siblings {br, gzip}  → br
//   Accept-Encoding: br;q=0, *              and siblings {br, gzip}  → gzip
//   (no Accept-Encoding)                                             → identity
// Equal q-values go to the smaller coding: br, then zstd, then gzip, then identity.

export type Coding = 'br' | 'zstd' | 'gzip';

/** The server's order of preference among equal q-values, best first. */
export const CODINGS: readonly Coding[] = ['br', 'zstd', 'gzip'];

/** The file name suffix of a precompressed sibling, per coding. */
export const SIBLING_SUFFIX: Readonly<Record<Coding, string>> = {
  br: '.br',
  zstd: '.zst',
  gzip: '.gz',
};

/** Coding → q (0 to 1), as the client wrote it; `*` included when present. */
export function parseAcceptEncoding(value: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const item of value.split(',')) {
    const [name = '', ...params] = item.split(';');
    const coding = name.trim().toLowerCase();
    if (coding === '') continue;
    let q = 1;
    for (const param of params) {
      const [key = '', raw = ''] = param.split('=');
      if (key.trim().toLowerCase() !== 'q') continue;
      // RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
      const text = raw.trim();
      q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(text) ? Number(text) : 0;
    }
    // x-gzip is gzip (RFC 9110 §8.4.1.3).
    weights.set(coding === 'x-gzip' ? 'gzip' : coding, q);
  }
  return weights;
}

/** Below the smallest q a client can write (0.001), above 0. */
const UNNAMED_IDENTITY = 0.0001;

function weightOf(weights: Map<string, number>, coding: string): number {
  const explicit = weights.get(coding);
  if (explicit !== undefined) return explicit;
  const star = weights.get('*');
  if (star !== undefined) return star;
  // RFC 9110 §12.5.3: identity is acceptable unless excluded, but a client that names only
  // `gzip;q=0.8` still prefers gzip: an unnamed identity ranks below every named coding.
  // Any other unnamed coding is not acceptable.
  return coding === 'identity' ? UNNAMED_IDENTITY : 0;
}

/** The codings the client accepts (q > 0), in the server's order of preference. */
export function acceptedCodings(header: string | undefined): Coding[] {
  if (header === undefined || header === '') return [];
  const weights = parseAcceptEncoding(header);
  return CODINGS.filter((coding) => weightOf(weights, coding) > 0);
}

/**
 * The best of `available` (plus identity) for this Accept-Encoding; identity when none fits,
 * even when the client excluded it: the full response is better than a 406 for a file.
 */
export function chooseCoding(
  header: string | undefined,
  available: readonly Coding[],
): Coding | 'identity' {
  if (header === undefined || header === '' || available.length === 0) return 'identity';
  const weights = parseAcceptEncoding(header);
  let best: Coding | 'identity' = 'identity';
  let bestQ = weightOf(weights, 'identity');
  for (const coding of CODINGS) {
    if (!available.includes(coding)) continue;
    const q = weightOf(weights, coding);
    // Equal weights: the earlier coding in CODINGS (smaller) beats identity and later ones.
    if (q > 0 && (q > bestQ || (q === bestQ && best === 'identity'))) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}
