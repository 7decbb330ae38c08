// The scenarios: a bundled app (bench/apps) plus a load shape. Each answers one question
// a user choosing a server has; docs/bench.md explains them to users.
import type { H2Leg } from './load/h2load.js';
import type {
  ClosedSpec,
  IdleSpec,
  LoadSpec,
  OpenSpec,
  RequestTemplate,
  SlowSpec,
  WsSpec,
} from './load/spec.js';
import { STATIC_FILES } from './static-site.js';

/** `h2`: the load is h2load, once per leg (protocol), on servers that speak HTTP/2.
 *  `httperf`: httperf at a constant rate, rate after rate (httperf-sweep.ts). */
export type ScenarioKind = 'closed' | 'open' | 'slow' | 'sweep' | 'h2' | 'httperf' | 'idle' | 'ws';

/** Everything a scenario needs to build its load for one server. */
export interface LoadContext {
  host: string;
  port: number;
  durationMs: number;
  warmupMs: number;
  timeoutMs: number;
  /** The budget every server gets (-w, --threads): loads that scale with it use them. */
  workers: number;
  threads: number;
  /** --connections: overrides the closed-loop (and fast-client) connection count. */
  connections: number | undefined;
  /** --rate: overrides the open-loop rate of `mixed`. */
  rate: number | undefined;
  /** Own app: path and extra headers; undefined for the bundled apps. */
  path: string | null;
  headers: Array<[string, string]>;
}

export interface Scenario {
  name: string;
  title: string;
  /** The question it answers, one sentence. */
  question: string;
  /** The bundled app, as module:callable inside bench/apps. */
  app: string;
  kind: ScenarioKind;
  /** Works on a user's app (--app): the load does not depend on the bundled app. */
  ownApp: boolean;
  /** Default timings (s) and repeats; --duration, --warmup, --repeat override. */
  durationS: number;
  warmupS: number;
  repeat: number;
  /** What the load does, for the report. */
  shape: string;
  /** Left out of the default matrix; run only when named in --scenarios. */
  optIn?: boolean;
  /** Extra `cask serve` arguments for this scenario (peers keep their fixed budget). */
  caskArgs?: string[];
  /** Serves static-site.ts's files instead of running an app: Cask with `--static`
   *  against the servers that serve files only (nginx). */
  staticSite?: boolean;
  /** `nginx`: nginx in front, passing requests to the server's uwsgi socket with `uwsgi_pass`
   *  (behind-nginx.ts); run by the servers that have one. */
  front?: 'nginx';
  /** Python modules the bundled app imports beyond the standard library: without them
   *  (under --python) the scenario is skipped with a note naming the Debian package. */
  needs?: Array<{ module: string; debian: string }>;
  /** Measures connections and nothing of an app: the raw-net ceiling runs it too, and the
   *  report gives every server's ratio to that ceiling. */
  ceiling?: boolean;
  /** Seconds the server's processes are still sampled after the load stops (without
   * load), so a report can show what the server does once idle, e.g. retire workers. */
  observeAfterS?: number;
  /** `h2` scenarios: the protocols compared, each an h2load run of the same app. */
  legs?: readonly H2Leg[];
  /** The bundled app is ASGI: run by the servers that serve ASGI apps (servers.ts). */
  interface?: 'asgi';
  /** A WebSocket load: run by the servers that speak WebSocket to an ASGI app. */
  websocket?: boolean;
  build(ctx: LoadContext): LoadSpec;
}

/** What a browser asks for in the browser scenarios: a search page with a query string,
 * the request line of the well-known PyPy WSGI server survey. */
export const BROWSER_PATH = '/search?q=wsgi+server+benchmark&lang=en-US&page=2&sort=relevance';

/** Headers of a desktop Chrome page load (with Host, the 14 Chrome sends: sec-ch-ua*,
 * Upgrade-Insecure-Requests, a 111-byte User-Agent, Accept, Sec-Fetch-*, Referer,
 * Accept-Encoding, Accept-Language) and a ~200-byte cookie, so a server's header parsing
 * cost shows as it would for real browser traffic. */
export const BROWSER_HEADERS: Array<[string, string]> = [
  [
    'User-Agent',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  ],
  [
    'Accept',
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
  ],
  ['Accept-Language', 'en-GB,en;q=0.9,de;q=0.8,fr;q=0.7'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Referer', 'https://www.example.com/search?q=python+wsgi'],
  ['Upgrade-Insecure-Requests', '1'],
  ['Sec-Fetch-Dest', 'document'],
  ['Sec-Fetch-Mode', 'navigate'],
  ['Sec-Fetch-Site', 'none'],
  ['Sec-Fetch-User', '?1'],
  ['Sec-Ch-Ua', '"Chromium";v="126", "Google Chrome";v="126", "Not-A.Brand";v="8"'],
  ['Sec-Ch-Ua-Mobile', '?0'],
  ['Sec-Ch-Ua-Platform', '"Linux"'],
  [
    'Cookie',
    'sessionid=8f2c1e9a7b3d4c5e6f708192a3b4c5d6; csrftoken=Zx8vQ2mN5pL7kR3tY6wB9cF1hJ4gD0sA; _ga=GA1.1.1234567890.1717171717; _ga_ABCDEF1234=GS1.1.1717171717.3.1.1717172000.0.0.0; theme=dark; lang=en',
  ],
];

const MB10 = 10 * 1024 * 1024;

/** slow-readers: a fast request unanswered after this long counts as a timeout. A hello
 * answer takes milliseconds; a second means the client is waiting for a worker. */
const FAST_TIMEOUT_MS = 1000;

function get(
  tag: string,
  path: string,
  headers: Array<[string, string]> = [],
  weight = 1,
): RequestTemplate {
  return { tag, method: 'GET', path, headers, bodyBytes: 0, weight };
}

function closed(
  ctx: LoadContext,
  connections: number,
  keepAlive: boolean,
  requests: RequestTemplate[],
): ClosedSpec {
  return {
    kind: 'closed',
    host: ctx.host,
    port: ctx.port,
    requests,
    timeoutMs: ctx.timeoutMs,
    seed: 1,
    connections: ctx.connections ?? connections,
    keepAlive,
    warmupMs: ctx.warmupMs,
    durationMs: ctx.durationMs,
  };
}

/** The request of the hello-family scenarios: the bundled hello app, or the user's path. */
function helloRequest(
  ctx: LoadContext,
  extra: Array<[string, string]> = [],
  path = '/',
): RequestTemplate {
  return get('all', ctx.path ?? path, [...extra, ...ctx.headers]);
}

/** A browser's page load: the search path, Chrome's headers, no keep-alive. */
function browserLoad(ctx: LoadContext): ClosedSpec {
  return closed(ctx, 40, false, [helloRequest(ctx, BROWSER_HEADERS, BROWSER_PATH)]);
}

/** idle-10k: how many idle keep-alive connections the server is asked to hold. */
export const IDLE_CONNECTIONS = 10_000;

/** idle-10k: open the connections (each asks for hello once), then hold them idle. */
function idleLoad(ctx: LoadContext): IdleSpec {
  return {
    kind: 'idle',
    host: ctx.host,
    port: ctx.port,
    requests: [helloRequest(ctx)],
    timeoutMs: Math.min(ctx.timeoutMs, 5000),
    seed: 1,
    connections: ctx.connections ?? IDLE_CONNECTIONS,
    // 50 at once: within the listen backlog of every server that takes part (Twisted's 50).
    concurrency: 50,
    rampLimitMs: 30_000,
    holdMs: ctx.durationMs,
  };
}

/** Flask, for the flask-* scenarios: Debian's python3-flask. */
const FLASK = [{ module: 'flask', debian: 'python3-flask' }];

/** One step of the rate sweep: `count` requests at `rate`, one connection each. */
export function sweepStep(ctx: LoadContext, rate: number, count: number): OpenSpec {
  return {
    kind: 'open',
    host: ctx.host,
    port: ctx.port,
    requests: [helloRequest(ctx)],
    timeoutMs: Math.min(ctx.timeoutMs, 5000),
    seed: 1,
    rate,
    count,
    keepAlive: false,
    maxConnections: 2000,
    phaseMs: 0,
  };
}

/** Slow clients beside a measured closed loop of fast ones (load/slow-client.ts). */
function slowLoad(
  ctx: LoadContext,
  fast: ClosedSpec,
  slow: Pick<
    SlowSpec,
    'clients' | 'idleClients' | 'byteIntervalMs' | 'slowPath' | 'readIntervalMs' | 'readBytes'
  >,
): SlowSpec {
  return {
    kind: 'slow',
    host: ctx.host,
    port: ctx.port,
    requests: fast.requests,
    timeoutMs: fast.timeoutMs,
    seed: 1,
    fast,
    rampMs: ctx.warmupMs,
    ...slow,
  };
}

/** slow-readers: 4 readers per slot of the budget (16 at 1 worker × 4 threads), half
 * reading 16 bytes a second and half not reading, each asking for 20 MB at `path`; one
 * keep-alive fast client asks for hello meanwhile. */
function slowReaders(ctx: LoadContext, path: string): SlowSpec {
  const clients = 4 * ctx.workers * ctx.threads;
  const fast = closed(ctx, 1, true, [get('all', '/')]);
  return slowLoad(
    ctx,
    { ...fast, timeoutMs: Math.min(ctx.timeoutMs, FAST_TIMEOUT_MS) },
    {
      clients,
      idleClients: Math.floor(clients / 2),
      byteIntervalMs: 0,
      slowPath: path,
      readIntervalMs: 1000,
      readBytes: 16,
    },
  );
}

/** What the two slow-readers scenarios share: app, kind and timings. */
const SLOW_READERS = {
  app: 'big_response:application',
  kind: 'slow',
  ownApp: false,
  durationS: 1.5,
  warmupS: 1,
  repeat: 2,
} as const;

/** Concurrency of every leg of the h2 scenario: 100 requests in flight, as 4 HTTP/2
 * connections × 25 streams or 100 HTTP/1.1 keep-alive connections. */
const H2_CONNECTIONS = 4;
const H2_STREAMS = 25;

/** The legs of the h2 scenario: the same hello app over each protocol Cask speaks. */
export const H2_LEGS: readonly H2Leg[] = [
  { name: 'h2c', h1: false, tls: false, connections: H2_CONNECTIONS, streams: H2_STREAMS },
  { name: 'http/1.1', h1: true, tls: false, connections: H2_CONNECTIONS * H2_STREAMS, streams: 1 },
  { name: 'h2 (TLS)', h1: false, tls: true, connections: H2_CONNECTIONS, streams: H2_STREAMS },
  { name: 'http/1.1 (TLS)', h1: true, tls: true, connections: H2_CONNECTIONS * H2_STREAMS, streams: 1 },
]; // prettier-ignore

/** The static scenarios: one file, keep-alive, Cask's `--static` against nginx. */
function staticScenario(
  name: string,
  file: { name: string; size: number },
  connections: number,
  label: string,
): Scenario {
  return {
    name,
    title: `Static file, ${label}`,
    question: `How does Cask's --static compare with nginx serving the same ${label} file?`,
    app: 'hello:application',
    kind: 'closed',
    ownApp: false,
    durationS: 5,
    warmupS: 1,
    repeat: 3,
    shape: `closed loop, ${connections} keep-alive connections, GET /static/${file.name} (${label}, random bytes) from the same directory for every server`,
    optIn: true,
    staticSite: true,
    build: (ctx) => closed(ctx, connections, true, [get('all', `/static/${file.name}`)]),
  };
}

/** ws-broadcast: `clients` WebSockets in one room, rounds of `batch` messages to each. */
function wsBroadcast(ctx: LoadContext, clients: number, batch: number): WsSpec {
  return {
    kind: 'ws',
    host: ctx.host,
    port: ctx.port,
    requests: [],
    timeoutMs: ctx.timeoutMs,
    seed: 1,
    path: '/ws',
    clients,
    batch,
    concurrency: 50,
    warmupMs: ctx.warmupMs,
    durationMs: ctx.durationMs,
  };
}

/** The ASGI and WebSocket scenarios: Cask against uvicorn and Hypercorn on the same app. */
const ASGI_SCENARIOS: readonly Scenario[] = [
  {
    name: 'asgi-hello',
    title: 'ASGI hello, keep-alive',
    question: 'What is the per-request overhead of the server for an ASGI app?',
    app: 'asgi_hello:application',
    interface: 'asgi',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 50 keep-alive connections, GET / of the hello app written for ASGI 3',
    build: (ctx) => closed(ctx, 50, true, [get('all', '/')]),
  },
  {
    name: 'asgi-hello-close',
    title: 'ASGI hello, new connection per request',
    question: 'What does accepting a connection cost in front of an ASGI app?',
    app: 'asgi_hello:application',
    interface: 'asgi',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 50 connections, Connection: close on every request, the ASGI hello app',
    build: (ctx) => closed(ctx, 50, false, [get('all', '/')]),
  },
  {
    name: 'ws-broadcast-16',
    title: 'WebSocket broadcast, 16 clients',
    question:
      'How many WebSocket messages a second does the server deliver from one app to 16 clients?',
    app: 'asgi_ws:application',
    interface: 'asgi',
    websocket: true,
    kind: 'ws',
    ownApp: false,
    durationS: 2,
    warmupS: 0.5,
    repeat: 2,
    shape:
      '16 WebSocket clients in one room; one asks for 100 messages to every member, and again as soon as all have them; messages delivered per second, and the time of one round',
    build: (ctx) => wsBroadcast(ctx, 16, 100),
  },
  {
    name: 'ws-broadcast-1000',
    title: 'WebSocket broadcast, 1,000 clients',
    question:
      'How many WebSocket messages a second does the server deliver from one app to 1,000 clients?',
    app: 'asgi_ws:application',
    interface: 'asgi',
    websocket: true,
    kind: 'ws',
    ownApp: false,
    durationS: 3,
    warmupS: 1,
    repeat: 1,
    shape:
      '1,000 WebSocket clients in one room (joined 50 at a time); one asks for 5 messages to every member, and again as soon as all have them; messages delivered per second, and the time of one round',
    optIn: true,
    build: (ctx) => wsBroadcast(ctx, 1000, 5),
  },
];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'hello',
    ceiling: true,
    title: 'Hello, keep-alive',
    question: 'What is the raw per-request overhead of the server?',
    app: 'hello:application',
    kind: 'closed',
    ownApp: true,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 50 keep-alive connections, GET /',
    build: (ctx) => closed(ctx, 50, true, [helloRequest(ctx)]),
  },
  {
    name: 'hello-close',
    ceiling: true,
    title: 'Hello, new connection per request',
    question: 'What does accepting a connection cost?',
    app: 'hello:application',
    kind: 'closed',
    ownApp: true,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 50 connections, Connection: close on every request',
    build: (ctx) => closed(ctx, 50, false, [helloRequest(ctx)]),
  },
  {
    name: 'browser',
    ceiling: true,
    title: 'Browser-like requests',
    question: 'What do real browser headers (cookies, Accept-*, Sec-*) cost to parse?',
    app: 'hello:application',
    kind: 'closed',
    ownApp: true,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: `closed loop, 4 browsers × 10 connections, GET ${BROWSER_PATH} with desktop Chrome headers and a 200-byte cookie, no keep-alive`,
    build: browserLoad,
  },
  {
    name: 'flask-hello',
    title: 'Flask hello, keep-alive',
    question: 'What does the server add to a Flask app, request by request?',
    app: 'flask_hello:application',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape:
      'closed loop, 50 keep-alive connections, GET / of the hello app written in Flask (Response("Hello, World!", mimetype="text/plain"))',
    needs: FLASK,
    build: (ctx) => closed(ctx, 50, true, [get('all', '/')]),
  },
  {
    name: 'flask-browser',
    title: 'Flask hello, browser-like requests',
    question: 'What do browser headers without keep-alive cost in front of a Flask app?',
    app: 'flask_hello:application',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: `as browser, against the hello app written in Flask: 4 browsers × 10 connections, GET ${BROWSER_PATH} with desktop Chrome headers and a 200-byte cookie, no keep-alive`,
    needs: FLASK,
    build: browserLoad,
  },
  {
    name: 'rate-sweep',
    ceiling: true,
    title: 'Rate sweep (open loop)',
    question: 'At what request rate does the server stop keeping up, and how does it fail?',
    app: 'hello:application',
    kind: 'sweep',
    ownApp: true,
    durationS: 0,
    warmupS: 0.3,
    repeat: 1,
    shape:
      'open loop at 1000, 2000, 3000 … req/s, a fixed number of requests per rate, one connection per request (httperf style), until it breaks',
    build: (ctx) => sweepStep(ctx, 1000, 1000),
  },
  {
    name: 'httperf',
    ceiling: true,
    title: 'httperf at a constant rate',
    question:
      'Which rates does the server hold with a new connection per request, measured by httperf, and with what connection time?',
    app: 'hello:application',
    kind: 'httperf',
    ownApp: true,
    durationS: 0,
    warmupS: 0.5,
    repeat: 1,
    shape:
      'httperf --rate R --num-conns N at each rate R of the sweep (by default 1,000, 2,000 … 15,000 req/s), one request per connection, N = min(10,000, 2 s × R) by default; a rate is held when every reply arrives, none errs and the reply rate is within 3% of R; the sweep stops at the first rate not held',
    // httperf makes its own requests; the built-in generator's spec is what --app users see
    // of it (one GET of the path).
    build: (ctx) => sweepStep(ctx, 1000, 1000),
  },
  {
    name: 'idle-10k',
    ceiling: true,
    title: '10,000 idle keep-alive connections',
    question: 'How much memory does the server need to hold 10,000 idle keep-alive connections?',
    app: 'hello:application',
    kind: 'idle',
    ownApp: true,
    durationS: 2,
    warmupS: 0,
    repeat: 1,
    shape:
      "10,000 keep-alive connections opened 50 at a time, each asking GET / once and reading the answer, then held idle for 2 s while the server's memory is sampled; Cask runs with --keep-alive 30 so that its 5 s idle timeout does not close them first; servers that cannot hold that many are skipped with the reason",
    caskArgs: ['--keep-alive', '30'],
    build: idleLoad,
  },
  {
    name: 'cpu',
    title: 'CPU-bound handler',
    question: 'How much does the server add to a handler that computes for 5 ms?',
    app: 'cpu:application',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 10 keep-alive connections, handler burns ~5 ms of CPU',
    build: (ctx) => closed(ctx, 10, true, [get('all', '/')]),
  },
  {
    name: 'io-wait',
    title: 'Waiting on a backend',
    question: 'How many requests can wait on I/O at once?',
    app: 'io_wait:application',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.5,
    repeat: 3,
    shape: 'closed loop, 200 keep-alive connections, handler waits 100 ms',
    build: (ctx) => closed(ctx, 200, true, [get('all', '/')]),
  },
  {
    name: 'mixed',
    title: '5% slow requests',
    question: 'How long do short requests wait behind slow ones?',
    app: 'mixed:application',
    kind: 'open',
    ownApp: false,
    durationS: 2.5,
    warmupS: 0,
    repeat: 2,
    shape:
      'open loop at 20 req/s on reused connections; 95% short, 5% take 2 s (seeded random choice); a request unanswered after 5 s is a timeout',
    build: (ctx) => ({
      kind: 'open',
      host: ctx.host,
      port: ctx.port,
      requests: [get('short', '/', [], 95), get('slow', '/slow', [], 5)],
      // A short request still waiting after 5 s has suffered enough; counting it as a
      // timeout keeps a one-slot server from stretching the run to the full timeout.
      timeoutMs: Math.min(ctx.timeoutMs, 5000),
      seed: 20,
      rate: ctx.rate ?? 20,
      durationMs: ctx.durationMs,
      keepAlive: true,
      maxConnections: 500,
      phaseMs: 0,
    }),
  },
  {
    name: 'upload',
    title: '10 MB uploads',
    question: 'How well does the server stream large request bodies to the app?',
    app: 'upload:application',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 4 keep-alive connections, POST of 10 MB read by the app',
    build: (ctx) =>
      closed(ctx, 4, true, [
        {
          tag: 'all',
          method: 'POST',
          path: '/',
          headers: [['Content-Type', 'application/octet-stream']],
          bodyBytes: MB10,
          weight: 1,
        },
      ]),
  },
  {
    name: 'download',
    title: '10 MB downloads',
    question: 'How well does the server write large responses?',
    app: 'download:application',
    kind: 'closed',
    ownApp: false,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape: 'closed loop, 4 keep-alive connections, 10 MB responses',
    build: (ctx) => closed(ctx, 4, true, [get('all', '/')]),
  },
  {
    name: 'slow-clients',
    title: 'Slow clients',
    question: 'Do slow clients take capacity away from fast ones?',
    app: 'hello:application',
    kind: 'slow',
    ownApp: true,
    durationS: 1.5,
    warmupS: 1,
    repeat: 2,
    shape:
      '200 clients sending their request head a byte every 20 ms and reading a 256 KB body in 64 KB steps every 100 ms, while 20 keep-alive clients are measured',
    build: (ctx) =>
      slowLoad(ctx, closed(ctx, 20, true, [helloRequest(ctx)]), {
        clients: 200,
        idleClients: 0,
        byteIntervalMs: 20,
        slowPath: ctx.path ?? '/?size=262144',
        readIntervalMs: 100,
        readBytes: 64 * 1024,
      }),
  },
  {
    ...SLOW_READERS,
    name: 'slow-readers',
    title: 'Slow readers',
    question: 'Do clients that read a large response slowly, or not at all, block the others?',
    shape:
      '4 slow readers per slot of the budget (16 at 1 worker × 4 threads) ask for a 20 MB response streamed in 64 KiB pieces, half then read 16 bytes a second and half nothing, while one keep-alive fast client asks for hello; a fast request unanswered after 1 s is a timeout',
    build: (ctx) => slowReaders(ctx, '/stream'),
  },
  {
    ...SLOW_READERS,
    name: 'slow-readers-list',
    title: 'Slow readers, one-piece body',
    question: 'Does the same hold when the app returns its 20 MB body as a one-item list?',
    shape:
      'as slow-readers, but the app returns the 20 MB body as a one-item list ([body]) instead of a generator',
    optIn: true,
    build: (ctx) => slowReaders(ctx, '/list'),
  },
  {
    name: 'autoscale',
    title: 'Autoscaling under a load step',
    question: 'Does Cask add workers when requests queue, within its min/max?',
    app: 'io_wait:application',
    kind: 'closed',
    ownApp: false,
    durationS: 6,
    warmupS: 0,
    repeat: 1,
    shape:
      'closed loop, 40 keep-alive connections for 6 s from an idle start, handler waits 100 ms, then 6 s without load; Cask runs with --workers-min 1 --workers-max 4 --idle-timeout 2 (peers keep their fixed budget); the process count is sampled 10 times a second throughout',
    optIn: true,
    caskArgs: ['--workers-min', '1', '--workers-max', '4', '--idle-timeout', '2'],
    observeAfterS: 6,
    build: (ctx) => closed(ctx, 40, true, [get('all', '/')]),
  },
  {
    name: 'h2',
    title: 'HTTP/2 against HTTP/1.1',
    question: 'What does HTTP/2 cost or save against HTTP/1.1 on the same server?',
    app: 'hello:application',
    kind: 'h2',
    ownApp: true,
    durationS: 2,
    warmupS: 1,
    repeat: 2,
    shape: `h2load, 100 requests in flight on GET /: ${H2_CONNECTIONS} HTTP/2 connections × ${H2_STREAMS} streams (h2c with prior knowledge; h2 by ALPN over TLS) against ${H2_CONNECTIONS * H2_STREAMS} HTTP/1.1 keep-alive connections (h2load --h1), in cleartext and over TLS with a throwaway certificate; servers that do not speak HTTP/2 are skipped`,
    optIn: true,
    legs: H2_LEGS,
    build: (ctx) => closed(ctx, H2_CONNECTIONS * H2_STREAMS, true, [helloRequest(ctx)]),
  },
  {
    name: 'behind-nginx',
    title: 'Behind nginx (uwsgi_pass)',
    question:
      'How does the server do in the classic production setup: nginx in front, passing requests over the uwsgi protocol?',
    app: 'hello:application',
    kind: 'closed',
    ownApp: true,
    durationS: 1,
    warmupS: 0.4,
    repeat: 3,
    shape:
      "closed loop, 50 keep-alive connections to nginx (one worker, on the server CPUs with the server), which passes each GET / on a new connection to the server's uwsgi socket with uwsgi_pass; only the servers that speak the uwsgi protocol (Cask with -b uwsgi://, uWSGI with --socket)",
    front: 'nginx',
    build: (ctx) => closed(ctx, 50, true, [helloRequest(ctx)]),
  },
  staticScenario('static', STATIC_FILES.small, 50, '4 KB'),
  staticScenario('static-large', STATIC_FILES.large, 4, '10 MB'),
  ...ASGI_SCENARIOS,
];

/** The scenarios run when --scenarios is not given. */
export const DEFAULT_SCENARIOS: readonly string[] = SCENARIOS.filter((s) => s.optIn !== true).map(
  (s) => s.name,
);

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
