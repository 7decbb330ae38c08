// Every error Cask raises on purpose carries a stable `code` (listed in docs/errors.md, which a
// test keeps in step with this file) and the HTTP status a client would get for it.

export const ERROR_CODES = {
  CASK_CONFIG_INVALID: { status: 500, doc: 'An option has a bad value, or an unknown option was given.' },
  CASK_CONFIG_FILE: { status: 500, doc: 'The config file cannot be read or is not valid TOML.' },
  CASK_CONFIG_UNSUPPORTED: {
    status: 500,
    doc: 'A gunicorn, uWSGI or waitress setting asks for something Cask cannot do; the message says what Cask does instead.',
  },
  CASK_HTTP_BAD_REQUEST: { status: 400, doc: 'The request is malformed or ambiguous (RFC 9112).' },
  CASK_HTTP_URI_TOO_LONG: { status: 414, doc: 'The request line is longer than `limit-request-line`.' },
  CASK_HTTP_HEADERS_TOO_LARGE: {
    status: 431,
    doc: 'A header line is longer than `limit-request-field-size`, or there are more than `limit-request-fields` headers.',
  },
  CASK_HTTP_TIMEOUT: {
    status: 408,
    doc: 'A request head took longer than `header-timeout`, or its body arrived slower than `body-min-rate`.',
  },
  CASK_SEND_TIMEOUT: { status: 408, doc: 'A client read nothing of its response for `send-timeout`; the connection is dropped.' },
  CASK_CONNECTION_LIMIT: { status: 503, doc: 'A new connection came while `max-connections` were open.' },
  CASK_RESPONSE_SPOOL_FULL: {
    status: 200,
    doc: 'The response spool holds `response-spool-total` on file: apps now wait for their slow clients.',
  },
  CASK_PROXY_PROTOCOL: {
    status: 400,
    doc: 'A `--proxy-protocol` listener got no valid PROXY header, or got one from a peer not in `forwarded-allow-ips`.',
  },
  CASK_CGI_PROTOCOL: {
    status: 400,
    doc: 'A web server in front sent bytes that are not a valid uwsgi, SCGI or FastCGI request, or variables that make no request.',
  },
  CASK_CGI_PEER: {
    status: 403,
    doc: 'A peer not in `forwarded-allow-ips` connected to a uwsgi, SCGI or FastCGI listener: closed without an answer.',
  },
  CASK_WEBSOCKET_HANDSHAKE: {
    status: 400,
    doc: 'A request asked to become a WebSocket without a valid handshake (RFC 6455 §4.2.1); 426 for a version other than 13.',
  },
  CASK_HTTP_BODY_TOO_LARGE: { status: 413, doc: 'The request body is larger than `max-body-size`.' },
  CASK_BODY_SPOOL: {
    status: 500,
    doc: 'A request body past `body-memory-limit` could not be written to its temporary file in `TMPDIR` (the directory is missing or read-only, the disk is full, no file descriptor is left): the client gets 500, the error is logged, and the front serves on.',
  },
  CASK_HTTP_NOT_IMPLEMENTED: { status: 501, doc: 'A transfer coding or method the server does not implement.' },
  CASK_HTTP_VERSION: { status: 505, doc: 'The request uses an HTTP version other than 1.0 or 1.1.' },
  CASK_LINK_PROTOCOL: { status: 502, doc: 'A worker sent a malformed frame on the worker link.' },
  CASK_WORKER_DIED: { status: 502, doc: 'The worker process running the request exited.' },
  CASK_WORKER_TIMEOUT: {
    status: 504,
    doc: 'The request ran longer than `timeout`; the app is stopped inside its thread (RequestTimeout).',
  },
  CASK_QUEUE_FULL: { status: 503, doc: 'Every worker is busy and the wait queue holds `max-queue` requests.' },
  CASK_QUEUE_TIMEOUT: { status: 503, doc: 'The request waited longer than `max-queue-wait` for a free worker.' },
  CASK_HOOK_FAILED: { status: 500, doc: 'The `on_starting` hook raised, or the hooks module cannot be imported: the server does not start.' },
  CASK_APP_ERROR: { status: 500, doc: 'The application raised, or broke the WSGI contract.' },
  CASK_APP_LOAD: { status: 500, doc: 'The application could not be imported; the server does not start.' },
  CASK_SENDFILE: {
    status: 500,
    doc: 'An app\'s X-Sendfile or X-Accel-Redirect names a file outside `sendfile-root`, or one that cannot be opened.',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CaskError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/** Bad settings: the CLI prints the message and exits 2. */
export class ConfigError extends CaskError {
  constructor(
    message: string,
    code: 'CASK_CONFIG_INVALID' | 'CASK_CONFIG_FILE' | 'CASK_CONFIG_UNSUPPORTED' = 'CASK_CONFIG_INVALID',
  ) {
    super(code, message);
  }
}

/** A request the front refuses before any app sees it. */
export class ProtocolError extends CaskError {}

/** Something went wrong between the front and a worker. */
export class WorkerError extends CaskError {}

/** A worker sent bytes that are not a valid frame of the worker link (docs/protocol.md). The
 *  link cannot be trusted past them: the worker is replaced. */
export class LinkProtocolError extends WorkerError {
  constructor(message: string) {
    super('CASK_LINK_PROTOCOL', message);
  }
}
