// The package's public entry (package.json `main` and `types`): start Cask from a program as
// the `cask` command does, and the types a program that embeds it needs. Everything else under
// src/ is private and may change between versions.

export { main } from './cli.js';
export { serve } from './serve.js';
export { loadConfig, type Config, type LoadOptions } from './config/index.js';
export type {
  ClientInfo,
  Exchange,
  ListenerInfo,
  RequestHandler,
  RequestInfo,
  ResponseSink,
} from './exchange.js';
export { CaskError, ERROR_CODES, type ErrorCode } from './errors.js';
