// The interactive console of `cask dev`'s error page: POST /__cask__/pin and
// POST /__cask__/console, answered here in the front, which checks everything before a line
// of Python reaches the worker that holds the traceback (python/cask_worker/console.py).
//
// A console is code execution on the developer's machine, so every one of these must hold:
//
//   the listener is a loopback TCP address    a server bound on 0.0.0.0 has no console
//   the client is a loopback address          not a machine on the network
//   Host is localhost, 127.0.0.1 or [::1]     DNS rebinding names the attacker's host
//   Origin is one of those too                 a page of another site cannot post here
//                                              (CVE-2024-34069: werkzeug trusted any Host)
//   the PIN cookie                             the PIN is printed on the terminal only
//
// The PIN is 9 random digits from the operating system's CSPRNG, new at every start, and the
// cookie a separate random token: neither is derived from anything a page could learn, such
// as the machine id, user name or module path werkzeug hashed (CVE-2019-14806: predictable
// in containers). After MAX_FAILURES wrong PINs the console is locked until a restart.

import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Exchange } from '../exchange.js';
import type { WorkerError } from '../errors.js';
import type { ExchangeSink } from '../ipc/link.js';
import { FLAG_END, Kind } from '../ipc/protocol.js';
import type { Logger } from '../log.js';
import type { WorkerProcess } from '../pool/worker.js';
import type { Route } from '../router.js';
import { isLoopbackAddress, isLoopbackName } from './hosts.js';
import { targetPath } from '../router.js';

export const PIN_PATH = '/__cask__/pin';
export const CONSOLE_PATH = '/__cask__/console';
export const MAX_FAILURES = 10;
const COOKIE = 'cask_console';
const MAX_BODY = 64 * 1024;
const ANSWER_MS = 30_000;

/** `123-456-789`: what the terminal shows and the page asks for. */
export function newPin(): string {
  const digits = String(randomInt(0, 1_000_000_000)).padStart(9, '0');
  return `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The PIN, its failures and the cookie it buys. */
export class ConsoleGate {
  readonly pin = newPin();
  readonly token = randomBytes(24).toString('base64url');
  failures = 0;

  get locked(): boolean {
    return this.failures >= MAX_FAILURES;
  }

  /** 'ok' sets the cookie; after MAX_FAILURES wrong ones every answer is 'locked'. */
  tryPin(pin: unknown): 'ok' | 'wrong' | 'locked' {
    if (this.locked) return 'locked';
    const digits = typeof pin === 'string' ? pin.replace(/[\s-]/g, '') : '';
    if (same(digits, this.pin.replace(/-/g, ''))) return 'ok';
    this.failures++;
    return this.locked ? 'locked' : 'wrong';
  }

  hasCookie(exchange: Exchange): boolean {
    const headers = exchange.request.headers;
    for (let i = 0; i < headers.length; i += 2) {
      if ((headers[i] as string).toLowerCase() !== 'cookie') continue;
      for (const part of (headers[i + 1] as string).split(';')) {
        const eq = part.indexOf('=');
        if (
          eq !== -1 &&
          part.slice(0, eq).trim() === COOKIE &&
          same(part.slice(eq + 1).trim(), this.token)
        )
          return true;
      }
    }
    return false;
  }
}

function header(exchange: Exchange, name: string): string | undefined {
  const headers = exchange.request.headers;
  for (let i = 0; i < headers.length; i += 2)
    if ((headers[i] as string).toLowerCase() === name) return headers[i + 1] as string;
  return undefined;
}

/** Why this exchange may not use the console, or undefined when it may. */
export function refusal(exchange: Exchange): string | undefined {
  const listener = exchange.listener;
  if (listener.serverPort === '' || !isLoopbackAddress(listener.serverName))
    return 'the console is only served on a loopback listener (bind 127.0.0.1 or [::1])';
  if (!isLoopbackAddress(exchange.remoteAddr)) return 'the console only answers this machine';
  if (!isLoopbackName(exchange.request.host))
    return 'the console only answers requests for localhost, 127.0.0.1 or [::1]';
  const origin = header(exchange, 'origin');
  if (origin === undefined) return 'the console needs an Origin header';
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return 'the Origin header is not a URL';
  }
  // The same host and port as the request: a page of another local server is another origin.
  if (!isLoopbackName(originHost) || originHost !== exchange.request.host.toLowerCase())
    return 'the console only answers pages of this server (Origin)';
  return undefined;
}

function answer(exchange: Exchange, status: string, body: unknown, cookie?: string): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`, 'utf8');
  const headers = [
    'Content-Type',
    'application/json',
    'Content-Length',
    String(bytes.length),
    'Cache-Control',
    'no-store',
  ];
  if (cookie !== undefined) headers.push('Set-Cookie', cookie);
  exchange.response.head(status, headers, bytes, true);
}

function bodyOf(exchange: Exchange): unknown {
  const body = exchange.body;
  if (body.kind !== 'memory' || body.length > MAX_BODY) return undefined;
  try {
    return JSON.parse(Buffer.concat(body.chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export interface ConsoleOptions {
  /** Every worker of every app: the traceback's pid says which one holds it. */
  readonly workers: () => Iterable<WorkerProcess>;
  readonly logger: Logger;
  readonly gate: ConsoleGate;
}

/** The Route for PIN_PATH and CONSOLE_PATH; every other request passes on. */
export function consoleRoute(options: ConsoleOptions): Route {
  const { gate, logger } = options;
  return {
    take(exchange: Exchange): boolean {
      const path = targetPath(exchange.request.target);
      if (path !== PIN_PATH && path !== CONSOLE_PATH) return false;
      if (exchange.request.method !== 'POST') {
        answer(exchange, '405 Method Not Allowed', { error: 'use POST' });
        return true;
      }
      const why = refusal(exchange);
      if (why !== undefined) {
        logger.warn(
          `Console request refused (${why}): Host ${exchange.request.host || '-'} from ${exchange.remoteAddr || 'a Unix socket'}`,
        );
        answer(exchange, '403 Forbidden', { error: `Refused: ${why}` });
        return true;
      }
      const body = bodyOf(exchange) as Record<string, unknown> | undefined;
      if (path === PIN_PATH) {
        const outcome = gate.tryPin(body?.['pin']);
        if (outcome === 'ok') {
          answer(
            exchange,
            '200 OK',
            { ok: true },
            `${COOKIE}=${gate.token}; Path=/__cask__; HttpOnly; SameSite=Strict`,
          );
        } else if (outcome === 'locked') {
          if (gate.failures === MAX_FAILURES)
            logger.warn(
              `Console locked after ${MAX_FAILURES} wrong PINs: restart cask dev to unlock it`,
            );
          answer(exchange, '423 Locked', {
            error: `The console is locked after ${MAX_FAILURES} wrong PINs: restart the server`,
          });
        } else {
          answer(exchange, '403 Forbidden', {
            error: `Wrong PIN (${MAX_FAILURES - gate.failures} tries left)`,
          });
        }
        return true;
      }
      if (gate.locked) {
        answer(exchange, '423 Locked', { error: 'The console is locked: restart the server' });
        return true;
      }
      if (!gate.hasCookie(exchange)) {
        answer(exchange, '401 Unauthorized', { error: 'Enter the console PIN first' });
        return true;
      }
      forward(options, exchange, body);
      return true;
    },
  };
}

/** Sends the line to the worker that holds the traceback (its pid starts the traceback id). */
function forward(
  options: ConsoleOptions,
  exchange: Exchange,
  body: Record<string, unknown> | undefined,
): void {
  const traceback = body?.['traceback'];
  const pid = typeof traceback === 'string' ? Number(traceback.split('-', 1)[0]) : NaN;
  let worker: WorkerProcess | undefined;
  for (const w of options.workers()) if (w.pid === pid && w.state === 'ready') worker = w;
  if (worker === undefined || typeof body?.['code'] !== 'string') {
    answer(exchange, '404 Not Found', {
      error: 'This traceback is gone (its worker was replaced by a reload): reload the page',
    });
    return;
  }
  let done = false;
  const timer = setTimeout(
    () => finish('504 Gateway Timeout', { error: 'The line ran past 30 s' }),
    ANSWER_MS,
  );
  function finish(status: string, result: unknown): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    answer(exchange, status, result);
  }
  const sink: ExchangeSink = {
    onHead: (status, headers, bytes) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      exchange.response.head(status, headers, bytes, true);
    },
    onData: () => {},
    onSendFile: () => {},
    onAppError: (text) => finish('500 Internal Server Error', { error: text }),
    onFail: (error: WorkerError) => finish('502 Bad Gateway', { error: error.message }),
  };
  const id = worker.open(sink);
  const payload = Buffer.from(
    JSON.stringify({ traceback, frame: body['frame'], code: body['code'] }),
    'utf8',
  );
  worker.link.send(id, Kind.CONSOLE, FLAG_END, payload);
}
