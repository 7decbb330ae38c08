// The pages the front itself answers with in `cask dev` while the app cannot be loaded. The
// worker that failed builds the real page (python/cask_worker/devpage.py: the error, the file
// and line, the source); this one is for a worker that died before it could say anything
// (a crash or sys.exit() during the import).

import type { ResponseHead } from '../ipc/protocol.js';

export interface ErrorPages {
  readonly html: ResponseHead;
  readonly json: ResponseHead;
}

const HEADERS = [
  'Cache-Control',
  'no-store',
  'X-Content-Type-Options',
  'nosniff',
  'Content-Security-Policy',
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'",
];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function head(type: string, body: Buffer): ResponseHead {
  return {
    status: '500 Internal Server Error',
    headers: ['Content-Type', type, 'Content-Length', String(body.length), ...HEADERS],
    body,
  };
}

export function brokenAppPage(reason: string): ErrorPages {
  const html = Buffer.from(
    '<!doctype html><html lang=en><head><meta charset=utf-8><title>The app could not be loaded</title>' +
      '<style>body{font:14px system-ui,sans-serif;margin:0}h1{background:#b3261e;color:#fff;margin:0;padding:16px 24px;font-size:20px}p{padding:0 24px}</style>' +
      `</head><body><h1>The app could not be loaded</h1><p>${escapeHtml(reason)}.</p>` +
      '<p>The server log has the worker&#39;s output. The next change to the app&#39;s files reloads it.</p></body></html>',
    'utf8',
  );
  const json = Buffer.from(
    `${JSON.stringify({ error: { title: 'The app could not be loaded', message: reason } })}\n`,
    'utf8',
  );
  return { html: head('text/html; charset=utf-8', html), json: head('application/json', json) };
}
