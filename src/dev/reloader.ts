// `--reload` and `cask dev`: a change to the app's files starts a reload, and, for `cask dev`,
// an app that cannot be loaded answers every request with its error page until the next
// change fixes it.
//
//   SourceWatcher ──change──▶ pool.reload() ──▶ new generation imports the code
//        ▲                                          │ ready: it takes over, the old one drains
//        │ FILES (each worker)                      │         (at most graceful-timeout)
//        └──────────────────────────────────────────┤ fails: the old one keeps its workers;
//                                                   ▼   `cask dev` answers with the error page
//                                             onReload(outcome)
//
// The listeners never close: a reload only changes which workers the pool hands requests to.

import type { Config } from '../config/index.js';
import type { Exchange } from '../exchange.js';
import type { ResponseHead } from '../ipc/protocol.js';
import type { Logger } from '../log.js';
import type { Pool } from '../pool/pool.js';
import type { Route } from '../router.js';
import type { RequestHandler } from '../exchange.js';
import { InjectingHandler, ReloadEvents, withScript } from './browser.js';
import { brokenAppPage, type ErrorPages } from './page.js';
import { SourceWatcher } from './watch.js';

/** How often a change that came while the workers were still starting is tried again. */
const RETRY_MS = 200;
/** The supervisor's reason for a reload that a newer one took over (not a failure). */
const SUPERSEDED = 'a newer reload';

export interface ReloaderOptions {
  readonly config: Config;
  readonly pool: Pool;
  readonly logger: Logger;
  /** `cask dev`: show the error page while the app cannot be loaded. */
  readonly pages: boolean;
  /** Who may see the page (src/dev/hosts.ts); the others get a plain 500. */
  readonly audience: (exchange: Exchange) => boolean;
}

export class Reloader implements Route {
  private readonly watcher: SourceWatcher;
  /** The pages of each generation that could not load the app, until its outcome is known. */
  private readonly loadPages = new Map<number, ErrorPages>();
  /** Set while the app cannot be loaded (`cask dev`): what every request is answered with. */
  private broken: ErrorPages | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** `--reload-browser`: the tabs to tell after a reload. */
  private readonly events: ReloadEvents | undefined;
  /** Ends the event streams as soon as a stop is asked for, so they do not hold the drain. */
  private readonly onStop = (): void => this.events?.close();

  constructor(private readonly options: ReloaderOptions) {
    const { config, logger } = options;
    this.watcher = new SourceWatcher({
      root: config.chdir,
      include: config.reloadInclude,
      exclude: config.reloadExclude,
      delayMs: config.reloadDelay * 1000,
      onChange: (paths) => this.changed(paths),
      onReady: (files) =>
        logger.info(
          `Reloading on changes: watching ${files} file(s) of the app${includes(config)}`,
        ),
      onError: (error) => logger.warn(`File watcher: ${error.message}`),
    });
    if (config.reloadBrowser) {
      this.events = new ReloadEvents();
      process.on('SIGINT', this.onStop).on('SIGTERM', this.onStop);
    }
    const pool = options.pool;
    const before = pool.supervisor.events;
    pool.events = {
      ...before,
      onFiles: (files) => {
        const added = this.watcher.addFiles(files);
        if (added > 0 && logger.enabled(10)) logger.debug(`Watching ${added} more file(s)`);
      },
      onLoadErrorPage: (page, generation) => this.keepPage(page, generation),
      onReload: (outcome) => {
        before.onReload?.(outcome);
        this.reloaded(outcome);
      },
    };
  }

  /** A Route: answers every request while the app cannot be loaded (`cask dev`). */
  take(exchange: Exchange): boolean {
    if (this.events?.take(exchange) === true) return true;
    const pages = this.broken;
    if (pages === undefined) return false;
    if (!this.options.audience(exchange)) {
      exchange.response.fail(500);
      return true;
    }
    let page = wantsJson(exchange) ? pages.json : pages.html;
    if (this.events !== undefined) page = withScript(page);
    exchange.response.head(page.status, page.headers, page.body, true);
    return true;
  }

  /** The app's handler, with the reload script added to its HTML pages (`--reload-browser`). */
  inject(app: RequestHandler): RequestHandler {
    return this.events === undefined ? app : new InjectingHandler(app);
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.events?.close();
    process.off('SIGINT', this.onStop).off('SIGTERM', this.onStop);
    await this.watcher.close();
  }

  private changed(paths: string[]): void {
    if (this.stopped) return;
    const shown =
      paths.slice(0, 3).join(', ') + (paths.length > 3 ? ` and ${paths.length - 3} more` : '');
    this.options.logger.info(`Changed: ${shown}; reloading`);
    this.reload();
  }

  private reload(): void {
    clearTimeout(this.retry);
    if (this.stopped || this.options.pool.reload()) return;
    // The first generation is still importing: it may have read the old file, so try again.
    this.retry = setTimeout(() => this.reload(), RETRY_MS);
    this.retry.unref();
  }

  private keepPage(page: ResponseHead, generation: number): void {
    if (!this.options.pages) return;
    const json = page.headers.some((h, i) => i % 2 === 1 && h.startsWith('application/json'));
    const kept = this.loadPages.get(generation);
    this.loadPages.set(generation, {
      html: json ? (kept?.html ?? page) : page,
      json: json ? page : (kept?.json ?? page),
    });
  }

  private reloaded(outcome: { ok: boolean; generation: number; reason?: string }): void {
    const pages = this.loadPages.get(outcome.generation);
    this.loadPages.delete(outcome.generation);
    if (outcome.ok) {
      if (this.broken !== undefined)
        this.options.logger.info(`The app loads again: generation ${outcome.generation} serves`);
      this.broken = undefined;
      if (this.events !== undefined && this.events.listeners > 0) {
        this.options.logger.info(`Reloading ${this.events.listeners} browser tab(s)`);
        this.events.reload();
      }
      return;
    }
    if (!this.options.pages || outcome.reason?.startsWith(SUPERSEDED) === true) return;
    this.broken = pages ?? brokenAppPage(outcome.reason ?? 'the app could not be loaded');
    this.options.logger.info('Until the next change, requests get the error page');
  }
}

function includes(config: Config): string {
  return config.reloadInclude.length === 0
    ? ''
    : ` and those under ${config.chdir} matching ${config.reloadInclude.join(', ')}`;
}

function wantsJson(exchange: Exchange): boolean {
  const headers = exchange.request.headers;
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== 'accept') continue;
    const value = headers[i + 1] as string;
    return value.includes('application/json') && !value.includes('text/html');
  }
  return false;
}
