// Private to src/static: the headers a file's response carries besides its validators — its
// Content-Type and its Cache-Control — as pure functions of the file name and the settings.

/** The part of the `mime` package the front uses. */
interface TypeTable {
  getType(name: string): string | null;
}

/**
 * mime-db's table, loaded by loadContentTypes() only in a front that serves files: it costs
 * about 6 MB of the front's memory, which an app with neither `--static` nor `--sendfile-root`
 * has no use for (docs/performance.md, "Front memory").
 */
let types: TypeTable | undefined;

/** Loads the table contentTypeOf() needs; resolves at once when it is loaded already. */
export async function loadContentTypes(): Promise<void> {
  types ??= (await import('mime')).default;
}

/** A year, the longest max-age caches are asked to honour (RFC 9111 §5.2.2.1, in practice). */
export const IMMUTABLE_MAX_AGE = 31_536_000;

/**
 * A name with a content hash in it, as bundlers and Django's ManifestStaticFilesStorage write
 * them: `app.3f9a2c7e.js`, `main-3f9a2c7e1b2d.css`, `app.3f9a2c7e.min.js`. The hash is 8 or
 * more hex digits between `.`/`-` and `.`, and holds at least one digit, so ordinary words made
 * of the letters a to f (`deadbeef`, `defaced`) do not count.
 */
const FINGERPRINT = /[.-](?=[0-9a-f]*\d)[0-9a-f]{8,}\./i;

export function isFingerprinted(name: string): boolean {
  return FINGERPRINT.test(name);
}

export interface CachePolicy {
  /** Seconds for `max-age`; 0 means `no-cache` (always revalidate, cheap with the ETag). */
  readonly maxAge: number;
  /** Fingerprinted names are cached for a year and marked immutable. */
  readonly immutable: boolean;
}

export function cacheControl(name: string, policy: CachePolicy): string {
  if (policy.immutable && isFingerprinted(name)) {
    return `public, max-age=${IMMUTABLE_MAX_AGE}, immutable`;
  }
  return policy.maxAge > 0 ? `public, max-age=${Math.floor(policy.maxAge)}` : 'no-cache';
}

/**
 * Types that are text although their top-level type is not `text`: they get a charset too, as
 * nginx's `charset_types` gives one, since a browser would otherwise guess. Not JSON: RFC 8259
 * §11 defines no charset parameter for it (it is always UTF-8).
 */
const TEXT_LIKE = /^application\/(?:javascript|xml|[\w.-]+\+xml)$|^image\/svg\+xml$/;

/** `text/css; charset=utf-8` for `app.css`; `application/octet-stream` for an unknown name. */
export function contentTypeOf(name: string): string {
  if (types === undefined) throw new Error('contentTypeOf() before loadContentTypes()');
  const type = types.getType(name);
  if (type === null) return 'application/octet-stream';
  return type.startsWith('text/') || TEXT_LIKE.test(type) ? `${type}; charset=utf-8` : type;
}

/** The request field `name` (lower-case), repeated ones joined with `, `; undefined if absent. */
export function fieldOf(headers: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const key = headers[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) {
      const v = headers[i + 1] as string;
      value = value === undefined ? v : `${value}, ${v}`;
    }
  }
  return value;
}
