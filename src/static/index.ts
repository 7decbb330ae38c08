// Static files, X-Sendfile offload and response compression: what the front does for a site's
// assets so that nothing needs to stand in front of it (docs/static.md). Everything here works
// through the exchange contract (src/exchange.ts) and never knows the transport.

import type { Config } from '../config/index.js';
import type { RequestHandler } from '../exchange.js';
import type { Logger } from '../log.js';
import type { Route } from '../router.js';
import { CompressingHandler } from './compress.js';
import { loadContentTypes } from './headers.js';
import { SendfileOffload } from './offload.js';
import { StaticRoute } from './route.js';
import { typeMatcher } from './types.js';

export { CompressingHandler, CompressingSink } from './compress.js';
export { SendfileOffload } from './offload.js';
export { StaticRoute, type StaticMount, type StaticOptions } from './route.js';

/** The `--static` route, or undefined when no directory is mounted. */
export async function staticRoute(config: Config, logger: Logger): Promise<Route | undefined> {
  if (config.static.length === 0) return undefined;
  await loadContentTypes();
  return new StaticRoute(
    {
      mounts: config.static,
      followSymlinks: config.staticFollowSymlinks,
      dotfiles: config.staticDotfiles,
      cache: { maxAge: config.staticMaxAge, immutable: config.staticImmutable },
      cacheValidMs: config.staticCacheValid * 1000,
    },
    logger,
  );
}

/** The X-Sendfile handler of `--sendfile-root`, or undefined when it is not set. */
export async function sendfileOffload(
  config: Config,
  logger: Logger,
): Promise<SendfileOffload | undefined> {
  if (config.sendfileRoot === null) return undefined;
  await loadContentTypes();
  return new SendfileOffload(config.sendfileRoot, logger);
}

/** The app handler, compressing its responses when `--compress` is on. */
export function compressing(config: Config, app: RequestHandler): RequestHandler {
  if (!config.compress) return app;
  return new CompressingHandler(app, {
    minSize: config.compressMinSize,
    types: typeMatcher(config.compressTypes),
  });
}
