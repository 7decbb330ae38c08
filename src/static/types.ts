// Private to src/static: which media types are worth compressing, for `--compress-types` and
// for the Vary a static file carries.

/** What `--compress-types` is when not given: text, and the text-like application types. */
export const DEFAULT_COMPRESS_TYPES: readonly string[] = [
  'text/*',
  'application/javascript',
  'application/json',
  'application/*+json',
  'application/xml',
  'application/*+xml',
  'image/svg+xml',
  'application/wasm',
];

/**
 * Types never compressed whatever the patterns say: already compressed (images but SVG, audio,
 * video, WOFF, archives), or streamed as events, where holding bytes back for a better ratio
 * would delay each event.
 */
const NEVER =
  /^(?:image\/(?!svg\+xml$)|audio\/|video\/|font\/woff2?$|text\/event-stream$|application\/(?:zip|gzip|x-gzip|zstd|x-bzip2|x-xz|x-7z-compressed|vnd\.rar|x-rar-compressed|octet-stream|pdf)$)/;

/** The media type of a Content-Type value, lower-case, without parameters. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** A pattern is a type (`text/html`), a wildcard subtype (`text/*`) or a suffix (`application/*+json`). */
export function checkTypePattern(pattern: string): boolean {
  return /^[a-z0-9!#$&^_.+-]+\/(?:\*|\*\+[a-z0-9!#$&^_.-]+|[a-z0-9!#$&^_.+-]+)$/i.test(pattern);
}

/** A test for Content-Type values against `patterns` (see checkTypePattern), never-list first. */
export function typeMatcher(patterns: readonly string[]): (contentType: string) => boolean {
  const exact = new Set<string>();
  const wild: string[] = [];
  const suffixes: Array<[string, string]> = [];
  for (const raw of patterns) {
    const pattern = raw.toLowerCase();
    const slash = pattern.indexOf('/');
    const sub = pattern.slice(slash + 1);
    if (sub === '*') wild.push(pattern.slice(0, slash + 1));
    else if (sub.startsWith('*+')) suffixes.push([pattern.slice(0, slash + 1), sub.slice(1)]);
    else exact.add(pattern);
  }
  return (contentType) => {
    const type = mediaType(contentType);
    if (type === '' || NEVER.test(type)) return false;
    if (exact.has(type)) return true;
    for (const top of wild) if (type.startsWith(top)) return true;
    for (const [top, suffix] of suffixes) {
      if (type.startsWith(top) && type.endsWith(suffix)) return true;
    }
    return false;
  };
}

/** The default patterns' test: whether a static file's response varies with Accept-Encoding. */
export const isCompressibleType = typeMatcher(DEFAULT_COMPRESS_TYPES);
