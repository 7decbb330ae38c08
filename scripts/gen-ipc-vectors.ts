// Writes test/fixtures/ipc-vectors/vectors.json: golden frames that the TypeScript and the
// Python codec tests both decode and re-encode. Regenerate only when docs/protocol.md changes.
import { writeFileSync } from 'node:fs';
import {
  FLAG_BINARY,
  FLAG_DETACHED,
  FLAG_END,
  Kind,
  encodeEnviron,
  encodeFrame,
  encodeHead,
  encodeLog,
  encodeSendFile,
  encodeWindow,
  encodeWsAccept,
  encodeWsClose,
} from '../src/ipc/protocol.js';

interface Vector {
  name: string;
  hex: string;
  id: number;
  kind: number;
  flags: number;
  payload_hex: string;
  environ?: Record<string, string>;
  head?: { status: string; headers: [string, string][]; body_hex: string };
  window?: number;
  sendfile?: { offset: number; length: number; path: string };
  log?: { level: number; text: string };
  ws_close?: { code: number; reason: string };
  ws_accept?: { subprotocol: string | null; headers: [string, string][] };
}

const vectors: Vector[] = [];
function add(name: string, id: number, kind: number, flags: number, payload: Buffer, extra: Partial<Vector> = {}): void {
  vectors.push({
    name,
    hex: encodeFrame(id, kind, flags, payload).toString('hex'),
    id,
    kind,
    flags,
    payload_hex: payload.toString('hex'),
    ...extra,
  });
}

const environ: Record<string, string> = {
  REQUEST_METHOD: 'GET',
  SCRIPT_NAME: '',
  PATH_INFO: '/caf\u00e9',
  QUERY_STRING: 'a=1&b=%20',
  SERVER_NAME: '127.0.0.1',
  SERVER_PORT: '8000',
  SERVER_PROTOCOL: 'HTTP/1.1',
  REMOTE_ADDR: '127.0.0.1',
  REMOTE_PORT: '51234',
  RAW_URI: '/caf%C3%A9?a=1&b=%20',
  'wsgi.url_scheme': 'http',
  HTTP_HOST: 'example.test',
  HTTP_COOKIE: 'a=1; b=2',
};
add('request without body', 1, Kind.REQUEST, FLAG_END, encodeEnviron(Object.entries(environ).flat()), { environ });
const postEnv: Record<string, string> = { REQUEST_METHOD: 'POST', PATH_INFO: '/', CONTENT_LENGTH: '5', CONTENT_TYPE: 'text/plain' };
add('request with body frames to follow', 2, Kind.REQUEST, 0, encodeEnviron(Object.entries(postEnv).flat()), { environ: postEnv });
add('body chunk', 2, Kind.BODY, 0, Buffer.from('hel'));
add('last body chunk', 2, Kind.BODY, FLAG_END, Buffer.from('lo'));
add('empty last body chunk', 7, Kind.BODY, FLAG_END, Buffer.alloc(0));
add('body in a file', 3, Kind.BODY_FILE, FLAG_END, Buffer.from('/tmp/cask-body-3', 'utf8'));
add('cancel', 4, Kind.CANCEL, 0, Buffer.alloc(0));
add('window', 5, Kind.WINDOW, 0, encodeWindow(262144), { window: 262144 });
add('file taken', 6, Kind.FILE_TAKEN, 0, Buffer.alloc(0));
add('credit', 5, Kind.CREDIT, 0, encodeWindow(1048576), { window: 1048576 });
add('stop', 0, Kind.STOP, 0, Buffer.alloc(0));
add('reclaim', 11, Kind.RECLAIM, 0, Buffer.alloc(0));
add('reclaimed', 11, Kind.RECLAIMED, FLAG_END, Buffer.alloc(0));
add('timeout', 12, Kind.TIMEOUT, 0, Buffer.alloc(0));
add('console', 13, Kind.CONSOLE, FLAG_END, Buffer.from('{"traceback":"4242-9f3a","frame":1,"code":"n * 2"}'));
add('stack dump', 13, Kind.STACK_DUMP, 0, Buffer.alloc(0));
add('stack', 13, Kind.STACK, 0, Buffer.from('  File "app.py", line 3, in application\n    time.sleep(9)\n', 'utf8'));
const headers: [string, string][] = [
  ['Content-Type', 'text/plain'],
  ['Content-Length', '5'],
  ['Set-Cookie', 'x=\u00ff'],
];
add('whole response in one head frame', 1, Kind.HEAD, FLAG_END, encodeHead('200 OK', headers.flat(), Buffer.from('hello')), {
  head: { status: '200 OK', headers, body_hex: Buffer.from('hello').toString('hex') },
});
add('head without headers or body', 9, Kind.HEAD, 0, encodeHead('204 No Content', [], Buffer.alloc(0)), {
  head: { status: '204 No Content', headers: [], body_hex: '' },
});
add('data chunk', 1, Kind.DATA, 0, Buffer.from([0, 1, 2, 255]));
add('head of a push stream', 15, Kind.HEAD, FLAG_DETACHED, encodeHead('200 OK', [], Buffer.alloc(0)), {
  head: { status: '200 OK', headers: [], body_hex: '' },
});
add('end stream', 15, Kind.END_STREAM, 0, Buffer.alloc(0));
add('last data chunk', 4294967295, Kind.DATA, FLAG_END, Buffer.alloc(0));
add('sendfile to eof', 8, Kind.SENDFILE, FLAG_END, encodeSendFile({ offset: 0, length: undefined, path: '/srv/f\u00fcr.bin' }), {
  sendfile: { offset: 0, length: -1, path: '/srv/f\u00fcr.bin' },
});
add('sendfile range', 8, Kind.SENDFILE, FLAG_END, encodeSendFile({ offset: 4096, length: 1000, path: '/a' }), {
  sendfile: { offset: 4096, length: 1000, path: '/a' },
});
add('error', 10, Kind.ERROR, 0, Buffer.from('Traceback (most recent call last):\n  ValueError: \u00e9\n', 'utf8'));
add('ready', 0, Kind.READY, 0, Buffer.from('{"pid":123,"python":"3.11.7","implementation":"cpython","threads":4}'));
add('log', 0, Kind.LOG, 0, encodeLog(30, 'careful \u2014 now'), { log: { level: 30, text: 'careful \u2014 now' } });
add('load error', 0, Kind.LOAD_ERROR, 0, Buffer.from('ModuleNotFoundError: No module named nope'));
add('stats', 0, Kind.STATS, 0, Buffer.from('{"requests":10}'));
const pageHeaders: [string, string][] = [['Content-Type', 'text/html; charset=utf-8']];
const pageBody = Buffer.from('<h1>ValueError: \u00e9</h1>', 'utf8');
add('error page', 10, Kind.ERROR_PAGE, 0, encodeHead('500 Internal Server Error', pageHeaders.flat(), pageBody), {
  head: { status: '500 Internal Server Error', headers: pageHeaders, body_hex: pageBody.toString('hex') },
});
add('load error page', 0, Kind.ERROR_PAGE, 0, encodeHead('500 Internal Server Error', pageHeaders.flat(), pageBody), {
  head: { status: '500 Internal Server Error', headers: pageHeaders, body_hex: pageBody.toString('hex') },
});
const wsEnviron: Record<string, string> = {
  REQUEST_METHOD: 'GET',
  PATH_INFO: '/chat',
  HTTP_UPGRADE: 'websocket',
  HTTP_SEC_WEBSOCKET_PROTOCOL: 'chat, superchat',
};
add('websocket', 14, Kind.WEBSOCKET, FLAG_END, encodeEnviron(Object.entries(wsEnviron).flat()), { environ: wsEnviron });
add('websocket text message', 14, Kind.WS_MESSAGE, 0, Buffer.from('h\u00e9llo', 'utf8'));
add('websocket binary message', 14, Kind.WS_MESSAGE, FLAG_BINARY, Buffer.from([0, 1, 254, 255]));
add('websocket closed by the client', 14, Kind.WS_CLOSED, 0, encodeWsClose(1001, 'going away'), {
  ws_close: { code: 1001, reason: 'going away' },
});
const acceptHeaders: [string, string][] = [['Set-Cookie', 'seen=1']];
add('websocket accepted', 14, Kind.WS_ACCEPT, 0, encodeWsAccept('chat', acceptHeaders.flat()), {
  ws_accept: { subprotocol: 'chat', headers: acceptHeaders },
});
add('websocket accepted without subprotocol', 15, Kind.WS_ACCEPT, 0, encodeWsAccept(undefined, []), {
  ws_accept: { subprotocol: null, headers: [] },
});
add('websocket send text', 14, Kind.WS_SEND, 0, Buffer.from('caf\u00e9', 'utf8'));
add('websocket send binary', 14, Kind.WS_SEND, FLAG_BINARY, Buffer.from([7, 7, 7]));
add('websocket close by the app', 14, Kind.WS_CLOSE, 0, encodeWsClose(4000, 'bye \u2014 now'), {
  ws_close: { code: 4000, reason: 'bye \u2014 now' },
});
add('websocket exchange ended', 14, Kind.WS_CLOSE, FLAG_END, Buffer.alloc(0), {
  ws_close: { code: 1005, reason: '' },
});
add('files', 0, Kind.FILES, 0, Buffer.from('["/srv/app/app.py","/srv/app/f\u00fcr.py"]', 'utf8'));
add('retire', 0, Kind.RETIRE, 0, Buffer.from('a thread still runs GET /caf\u00e9 3.1 s after its response ended', 'utf8'));

writeFileSync(new URL('../test/fixtures/ipc-vectors/vectors.json', import.meta.url), JSON.stringify(vectors, null, 1) + '\n');
console.log(`wrote ${vectors.length} vectors`);
