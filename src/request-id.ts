// X-Request-Id and X-Request-Start, as the app sees them in its environ.
//
// X-Request-Id: a trusted proxy's (forwarded-allow-ips) is passed through when it looks like
// an id (at most 200 characters of letters, digits and `-._~:/+=`); from anyone else, or when
// it does not, the front makes one: a random prefix drawn at start-up and a counter. Ids are
// unique per server run and cost a string concatenation; they are not secrets (the request's
// own client sees its id), so they need not be unguessable.
//
// X-Request-Start: `t=` and the milliseconds since the epoch when the request was complete in
// the front (the format New Relic's and Datadog's agents read), so an APM agent in the app can
// report the time a request waited before the app ran. A trusted proxy's own header is kept:
// it measured from further out. Milliseconds, and the string made once per millisecond:
// writing a 16-digit number costs ~150 ns, more than everything else here together.

import { randomBytes } from 'node:crypto';

const VALID_ID = /^[A-Za-z0-9._~:/+=-]{1,200}$/;

export class RequestIds {
  private readonly prefix = `${randomBytes(6).toString('hex')}-`;
  private counter = 0;
  private startMs = -1;
  private start = '';

  next(): string {
    return this.prefix + (++this.counter).toString(36);
  }

  /** `t=` and the milliseconds of `atMs`, made again only when the millisecond changes. */
  startOf(atMs: number): string {
    const ms = Math.floor(atMs);
    if (ms !== this.startMs) {
      this.startMs = ms;
      this.start = `t=${ms}`;
    }
    return this.start;
  }
}

function replace(pairs: string[], key: string, value: string): void {
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === key) {
      pairs[i + 1] = value;
      return;
    }
  }
  pairs.push(key, value);
}

/**
 * Adds HTTP_X_REQUEST_ID and HTTP_X_REQUEST_START to the environ `pairs` (built from
 * `headers`), replacing what an untrusted client sent; returns the request's id.
 * @param startedAtMs when the request was complete, in ms since the epoch
 */
export function addRequestIds(
  pairs: string[],
  headers: readonly string[],
  trusted: boolean,
  ids: RequestIds,
  startedAtMs: number,
): string {
  let given: string | undefined;
  let hasStart = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    // Compared by length first: most requests have neither header, and this stays a loop of
    // integer compares for them.
    if (name.length === 12 && name.toLowerCase() === 'x-request-id')
      given = headers[i + 1] as string;
    else if (name.length === 15 && name.toLowerCase() === 'x-request-start') hasStart = true;
  }
  let id: string;
  if (given === undefined) {
    id = ids.next();
    pairs.push('HTTP_X_REQUEST_ID', id);
  } else if (trusted && VALID_ID.test(given)) {
    id = given;
  } else {
    id = ids.next();
    replace(pairs, 'HTTP_X_REQUEST_ID', id);
  }
  if (!hasStart) pairs.push('HTTP_X_REQUEST_START', ids.startOf(startedAtMs));
  else if (!trusted) replace(pairs, 'HTTP_X_REQUEST_START', ids.startOf(startedAtMs));
  return id;
}
