// Constant load for the "not one request fails" tests: `clients` loops, each sending one
// request at a time on a fresh connection, until `stop()` is called. Every response is kept.
import { get, type ParsedResponse } from './http.js';

export interface LoadResult {
  readonly responses: ParsedResponse[];
  /** Requests that got no response at all (connection refused or reset). */
  readonly errors: string[];
  /** Responses other than 200, as `status body`, plus the errors. */
  readonly failures: string[];
}

export interface RunningLoad {
  /** Stop after the requests in flight; resolves with everything seen. */
  stop(): Promise<LoadResult>;
  /** Responses so far. */
  count(): number;
}

export function startLoad(port: number, path: string | (() => string), clients = 4): RunningLoad {
  const responses: ParsedResponse[] = [];
  const errors: string[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        responses.push(
          await get(port, typeof path === 'string' ? path : path(), {}, { ms: 20_000 }),
        );
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  });
  return {
    count: () => responses.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      const failures = [
        ...responses
          .filter((r) => r.status !== 200)
          .map((r) => `${r.status} ${r.body.toString().slice(0, 200)}`),
        ...errors,
      ];
      return { responses, errors, failures };
    },
  };
}

/**
 * Poll `check` every `everyMs` until it holds, for at most `ms`; resolves with how long that
 * took (ms), for tests that bound the time a server takes to do something.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
  what = 'condition',
  everyMs = 50,
): Promise<number> {
  const started = Date.now();
  const deadline = started + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Date.now() - started;
}
