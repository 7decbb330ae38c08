// The design's floor in `cask bench`: raw-net (raw-net.mjs) plus one round trip to a Python
// process for every request, the shape of a server whose sockets live in Node and whose app
// runs in Python (Cask's shape) with nothing of HTTP or WSGI on either side. Each request head
// goes to the Python process (net_hop.py) as a frame on a socket, the Python process answers
// with the request's id, and the fixed 13-byte response leaves when that answer comes back.
// What Cask spends above this row is its own work (parsing, the environ, the app's protocol);
// what this row spends above raw-net is the hop itself: the second process on the same CPU,
// two more socket writes and reads, the wake-ups between them.
//
// It keeps the two things Cask does to make a hop cheap, so that it is a floor for Cask and
// not a strawman: the frames written in one turn of the event loop leave in one write (the
// link is corked until the turn ends), and the Python process runs under SCHED_BATCH (Cask's
// default `--worker-scheduling batch`). Python sends each answer as soon as its frame is read,
// one write per answer, as Cask's worker sends each response once it is finished.
//
// usage: node net-hop.mjs PORT [PYTHON]   (PYTHON defaults to python3)
// Plain JavaScript without dependencies, like raw-net.mjs, so it runs from a source checkout
// or an installed package alike.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLOSING_RESPONSE, MAX_HEAD, RESPONSE, asksToClose, closeWith } from './raw-net.mjs';

const END = '\r\n\r\n';
/** On a socket whose closing request is on its round trip: nothing came after it. */
const QUIET = Symbol('quiet');
/** Request frame header: u32 request id, u32 payload length (big-endian). */
export const FRAME_HEADER = 8;
/** Answer: the u32 request id. */
export const ANSWER_SIZE = 4;

/**
 * The complete request heads in what arrived so far (each without its blank line). `pending`
 * is the unfinished head carried over from the previous read (a latin1 string), `chunk` the
 * new bytes. `close` says the last head returned asks to close the connection; nothing after
 * it is returned, and `tail` counts the bytes that came after it (0 without one). Bodies are
 * not read: the bench sends only GETs to this server.
 */
export function splitHeads(pending, chunk) {
  const text = pending + chunk.toString('latin1');
  const heads = [];
  let close = false;
  let from = 0;
  for (;;) {
    const end = text.indexOf(END, from);
    if (end < 0) break;
    const head = text.slice(from, end);
    heads.push(head);
    from = end + END.length;
    if (asksToClose(head)) {
      close = true;
      break; // nothing after a closing request is answered
    }
  }
  return {
    heads,
    close,
    rest: close ? '' : text.slice(from),
    tail: close ? text.length - from : 0,
  };
}

/** One request frame: the header, then the head's bytes as the payload. */
export function encodeFrame(id, head) {
  const length = Buffer.byteLength(head, 'latin1');
  const frame = Buffer.allocUnsafe(FRAME_HEADER + length);
  frame.writeUInt32BE(id, 0);
  frame.writeUInt32BE(length, 4);
  frame.write(head, FRAME_HEADER, 'latin1');
  return frame;
}

/** The ids of the whole answers in `pending` + `chunk`, and the bytes left over. */
export function readAnswers(pending, chunk) {
  const bytes = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  const ids = [];
  let at = 0;
  for (; bytes.length - at >= ANSWER_SIZE; at += ANSWER_SIZE) ids.push(bytes.readUInt32BE(at));
  return { ids, rest: bytes.subarray(at) };
}

/**
 * The HTTP server and its Python process. `python` is the interpreter to run net_hop.py
 * with; `onExit` is told if the Python process ends while the server is still wanted.
 */
export function startHop(python, onExit) {
  const script = fileURLToPath(new URL('./net_hop.py', import.meta.url));
  const child = spawn(python, [script], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  const link = child.stdio[3];
  /** id -> [socket, whether its answer ends the connection] */
  const waiting = new Map();
  let nextId = 1;
  let corked = false;
  const uncork = () => {
    corked = false;
    link.uncork();
  };
  const send = (frame) => {
    if (!corked) {
      corked = true;
      link.cork();
      setImmediate(uncork);
    }
    link.write(frame);
  };
  let answers = Buffer.alloc(0);
  link.on('data', (chunk) => {
    const { ids, rest } = readAnswers(answers, chunk);
    answers = rest;
    for (const id of ids) {
      const entry = waiting.get(id);
      waiting.delete(id);
      if (entry === undefined || entry[0].destroyed) continue;
      if (entry[1]) closeWith(entry[0], CLOSING_RESPONSE, entry[0][QUIET] === true);
      else entry[0].write(RESPONSE);
    }
  });
  // The link's errors end in the child's exit, reported below.
  link.on('error', () => {});
  let stopping = false;
  child.on('exit', (code, signal) => {
    if (!stopping) onExit(code, signal);
  });

  const server = net.createServer({ noDelay: true }, (socket) => {
    let pending = '';
    let ended = false;
    socket.on('data', (chunk) => {
      // As raw-net: what a client sends after its closing request is read and dropped, and
      // makes the close wait for the client's end (closeWith()).
      if (ended) {
        socket[QUIET] = false;
        return;
      }
      const { heads, close, rest, tail } = splitHeads(pending, chunk);
      pending = rest;
      if (pending.length > MAX_HEAD) {
        socket.destroy();
        return;
      }
      for (let i = 0; i < heads.length; i++) {
        const id = nextId;
        nextId = nextId === 0xffffffff ? 1 : nextId + 1;
        const last = close && i === heads.length - 1;
        waiting.set(id, [socket, last]);
        send(encodeFrame(id, heads[i]));
      }
      if (close) {
        ended = true;
        socket[QUIET] = tail === 0;
      }
    });
    socket.on('error', () => socket.destroy());
  });
  const stop = () => {
    stopping = true;
    server.close();
    child.kill('SIGTERM');
  };
  return { server, child, stop };
}

function main() {
  const port = Number(process.argv[2]);
  const python = process.argv[3] ?? 'python3';
  if (!Number.isInteger(port) || port <= 0) {
    process.stderr.write(
      `usage: node net-hop.mjs PORT [PYTHON] (got ${process.argv[2] ?? 'nothing'})\n`,
    );
    process.exit(2);
  }
  const hop = startHop(python, (code, signal) => {
    process.stderr.write(`net-hop: the Python process ended (${signal ?? `exit ${code}`})\n`);
    process.exit(1);
  });
  hop.child.on('error', (error) => {
    process.stderr.write(`net-hop: cannot start ${python}: ${error.message}\n`);
    process.exit(1);
  });
  // The same backlog as raw-net and Cask.
  hop.server.listen({ host: '127.0.0.1', port, backlog: 2048 });
  for (const sig of ['SIGTERM', 'SIGINT'])
    process.on(sig, () => {
      hop.stop();
      process.exit(0);
    });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
