// Private to src/static: from a request path to the file it may name, without touching the file
// system. Path safety lives here and nowhere else (one small function, so a review can see every
// rule at once): every trick that could walk out of a mount is refused before any `stat` or `open`
// happens.
//
// What is refused, each on the decoded segment, so an encoded trick is caught as well as a plain
// one (RFC 3986 §2.1 and §3.3):
//   `..`, `.`            (also as `%2e%2e`, `%2E.`, …)   traversal
//   `/` or `\` inside a segment (`%2f`, `%5c`, a raw `\`)  a separator smuggled past the split
//   NUL                  (`%00`)                         truncates the path in C
//   an empty segment     (`//`)                          never a real name; `a//b` is no file
//   a leading `.`        unless dotfiles are allowed      `.git/`, `.env`, `.htpasswd`
//   bad percent-encoding or a name that is not UTF-8   400, not a file name at all
// Symlinks are the driver's to check (they need the file system): see route.ts.

/** A request path after its mount prefix, resolved to the segments of a relative file path. */
export type ResolvedPath =
  | {
      readonly kind: 'path';
      /** Decoded names, none empty, `.`, `..`, or holding a separator; [] for the mount root. */
      readonly segments: readonly string[];
      /** The request path ended with `/` (a directory was asked for). */
      readonly trailingSlash: boolean;
    }
  | { readonly kind: 'refused'; readonly status: 400 | 404; readonly reason: string };

export interface ResolveOptions {
  /** Serve names starting with `.` (hidden by default). */
  readonly dotfiles: boolean;
}

const refused = (status: 400 | 404, reason: string): ResolvedPath => ({
  kind: 'refused',
  status,
  reason,
});

/**
 * Resolves `rest`, the raw (still percent-encoded) request path that follows a mount prefix:
 * `''` (the prefix itself), or a path starting with `/`.
 */
export function resolvePath(rest: string, options: ResolveOptions): ResolvedPath {
  if (rest === '') return { kind: 'path', segments: [], trailingSlash: false };
  if (rest.charCodeAt(0) !== 47 /* / */) return refused(404, 'does not start with "/"');
  if (rest.includes('\\')) return refused(404, 'has a backslash');
  const raw = rest.slice(1).split('/');
  let trailingSlash = false;
  if (raw.length > 0 && raw[raw.length - 1] === '') {
    raw.pop();
    trailingSlash = true;
  }
  const segments: string[] = [];
  for (const part of raw) {
    if (part === '') return refused(404, 'has an empty segment ("//")');
    let name = part;
    if (part.includes('%')) {
      try {
        name = decodeURIComponent(part);
      } catch {
        return refused(400, 'has bad percent-encoding or a name that is not UTF-8');
      }
    }
    if (name === '.' || name === '..') return refused(404, 'has a "." or ".." segment');
    if (name.includes('/') || name.includes('\\')) {
      return refused(404, 'has an encoded "/" or "\\" inside a segment');
    }
    if (name.includes('\0')) return refused(404, 'has a NUL byte');
    if (!options.dotfiles && name.charCodeAt(0) === 46 /* . */) {
      return refused(404, 'names a hidden file or directory');
    }
    segments.push(name);
  }
  return { kind: 'path', segments, trailingSlash };
}

/**
 * What follows `prefix` in `path`, or undefined when the path is not under it. A prefix is
 * written without a trailing slash (`/static`), or is `/` for a mount at the root; it matches
 * whole segments only, so `/static` owns `/static` and `/static/...` but not `/statics`.
 */
export function afterPrefix(path: string, prefix: string): string | undefined {
  if (prefix === '/') return path.charCodeAt(0) === 47 ? path : undefined;
  if (!path.startsWith(prefix)) return undefined;
  if (path.length === prefix.length) return '';
  return path.charCodeAt(prefix.length) === 47 ? path.slice(prefix.length) : undefined;
}

/** The path of a request-target (origin-form or absolute-form), without its query. */
export function pathOfTarget(target: string): { path: string; query: string } | undefined {
  let rest = target;
  if (rest.charCodeAt(0) !== 47) {
    // absolute-form (RFC 9112 §3.2.2): only the path counts here.
    const match = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (match === null) return undefined;
    rest = match[1] === '' || match[1]?.charCodeAt(0) === 63 ? `/${match[1]}` : (match[1] ?? '');
  }
  const q = rest.indexOf('?');
  return q === -1 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q) };
}

/** True when `real` (an absolute, symlink-free path) is `root` or inside it. */
export function isInside(root: string, real: string): boolean {
  if (real === root) return true;
  const base = root.endsWith('/') ? root : `${root}/`;
  return real.startsWith(base);
}
