// `cask serve`: bind the listeners first (a taken port fails before any Python starts), start
// the worker pool, serve, and shut down gracefully on SIGTERM/SIGINT.

import type { Server } from 'node:net';
import type { Config } from './config/index.js';
import { Gateway } from './gateway.js';
import { Connection, type ConnectionOptions } from './http/connection.js';
import { AccessLog, Logger } from './log.js';
import { listen, type BoundListener } from './net/listener.js';
import { Pool } from './pool/pool.js';
import { EXIT_LOAD_ERROR } from './pool/worker.js';
import { VERSION } from './version.js';

const LISTEN_BACKLOG = 2048;
/** A partial request that sends nothing for this long is answered 408 (issue: header timeout). */
const READ_TIMEOUT_MS = 60_000;

export async function serve(config: Config): Promise<number> {
  const logger = new Logger(config.logLevel, config.errorLog);
  const accessLog = config.accessLog ? new AccessLog(config.accessLog, config.accessLogFormat) : undefined;
  const connections = new Set<Connection>();
  const connectionOptions: ConnectionOptions = {
    limits: {
      maxRequestLine: config.limitRequestLine,
      maxHeaderCount: config.limitRequestFields,
      maxHeaderFieldSize: config.limitRequestFieldSize,
      maxBodySize: config.maxBodySize,
    },
    keepAliveMs: config.keepAlive * 1000,
    readTimeoutMs: READ_TIMEOUT_MS,
    bodyMemoryLimit: config.bodyMemoryLimit,
    serverHeader: config.serverName,
  };

  let fatal: string | undefined;
  let fatalKind: 'load' | 'start' = 'load';
  const pool = new Pool(
    {
      python: config.python,
      app: config.app,
      threads: config.threads,
      multiprocess: config.workers > 1,
      pythonpath: config.pythonpath,
      chdir: config.chdir,
      workers: config.workers,
      prefetch: config.prefetch,
      maxQueue: config.maxQueue,
      timeout: config.timeout,
    },
    logger,
    (reason, kind) => {
      fatal = reason;
      fatalKind = kind;
    },
  );
  const gateway = new Gateway(pool, logger, accessLog, { rootPath: config.rootPath });

  const listeners: BoundListener[] = [];
  try {
    for (const bind of config.bind) {
      listeners.push(
        await listen(bind, LISTEN_BACKLOG, (socket, info) => {
          new Connection(socket, connectionOptions, gateway, info, connections);
        }),
      );
    }
  } catch (error) {
    logger.error((error as Error).message);
    await closeServers(listeners.map((l) => l.server));
    return 1;
  }

  logger.info(
    `Cask ${VERSION} serving ${config.app} on ${listeners.map((l) => l.url).join(', ')} ` +
      `with ${config.workers} worker(s) x ${config.threads} thread(s) (${config.python})`,
  );

  let stopRequested: ((signal: NodeJS.Signals) => void) | undefined;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (stopRequested = resolve));
  let signalled = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalled++;
    if (signalled === 1) stopRequested?.(signal);
    else {
      logger.warn(`Second ${signal}: stopping now`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const cleanup = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };

  const started = pool.start().then(
    () => 'ready' as const,
    () => 'failed' as const,
  );
  const first = await Promise.race([started, stopSignal]);
  if (first === 'failed') {
    if (fatalKind === 'load') logger.error(`The application could not be loaded:\n${(fatal ?? 'unknown error').trimEnd()}`);
    else logger.error(`The workers could not start: ${fatal ?? 'unknown error'}`);
    await closeServers(listeners.map((l) => l.server));
    await pool.stop(1000);
    cleanup();
    return fatalKind === 'load' ? EXIT_LOAD_ERROR : 1;
  }
  if (first === 'ready') logger.info(`Ready: ${pool.readyWorkers} worker(s)`);

  const signal = await stopSignal;
  const graceMs = config.gracefulTimeout * 1000;
  logger.info(`${signal}: shutting down, waiting up to ${config.gracefulTimeout} s for requests in progress`);
  const closing = closeServers(listeners.map((l) => l.server));
  for (const connection of connections) connection.shutdown();
  const deadline = Date.now() + graceMs;
  while (connections.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (connections.size > 0) logger.warn(`Graceful timeout: dropping ${connections.size} connection(s)`);
  await pool.stop(Math.max(1000, deadline - Date.now()));
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 100))]);
  await accessLog?.close();
  logger.info('Stopped');
  await logger.close();
  cleanup();
  return 0;
}

function closeServers(servers: Server[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => {});
}
