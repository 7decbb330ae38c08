// The first stop of every exchange, whatever transport it came by: the routes the front
// answers itself, in order (the probe paths today), and then the app through the gateway.
// A route that does not take an exchange passes it on untouched.

import type { CaskError } from './errors.js';
import type { Exchange, RequestHandler } from './exchange.js';

export interface Route {
  /** Answers the exchange and returns true if it is this route's; false passes it on. */
  take(exchange: Exchange): boolean;
}

export class Router implements RequestHandler {
  constructor(
    private readonly routes: readonly Route[],
    private readonly app: RequestHandler,
  ) {}

  handle(exchange: Exchange): void {
    for (const route of this.routes) if (route.take(exchange)) return;
    this.app.handle(exchange);
  }

  refused(status: number, error: CaskError | undefined, remoteAddr: string): void {
    this.app.refused(status, error, remoteAddr);
  }

  completed(exchange: Exchange): void {
    this.app.completed(exchange);
  }

  responseError(exchange: Exchange, message: string): void {
    this.app.responseError(exchange, message);
  }
}

/** The path of a request-target without its query. */
export function targetPath(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
