// Turning socket failures into the small set of error kinds the report counts. The kinds
// say who failed: the listen queue (refused, connect-timeout), the server mid-request
// (reset, closed), the server being slow (timeout), or the bytes (parse).

export type ErrorKind =
  | 'connect-refused'
  | 'connect-timeout'
  | 'reset'
  | 'closed'
  | 'timeout'
  | 'parse'
  | `status-${number}`
  | `other-${string}`;

export function classify(err: unknown, connected: boolean): ErrorKind {
  const code =
    typeof err === 'object' && err !== null && 'code' in err
      ? String((err as { code: unknown }).code)
      : '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connect-refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ETIMEDOUT':
      return connected ? 'timeout' : 'connect-timeout';
    case 'parse':
      return 'parse';
    case '':
      return 'other-unknown';
    default:
      return `other-${code}`;
  }
}

export function bump(counts: Record<string, number>, kind: string, n = 1): void {
  counts[kind] = (counts[kind] ?? 0) + n;
}
