// The ceiling of `cask bench`: a node:net server with no HTTP parser and no Python. It answers
// every request head (everything up to a blank line, `\r\n\r\n`) with one fixed 13-byte
// response, and closes the connection after answering a head that says `Connection: close`.
// Started, pinned and loaded like every other server, it shows what Node itself costs for
// accept, read, write and close on this machine; whatever a server spends above it is its own.
//
// usage: node raw-net.mjs PORT
// Plain JavaScript without dependencies, so it runs with the `node` that runs the bench, from
// a source checkout or an installed package alike.
import net from 'node:net';
import { pathToFileURL } from 'node:url';

export const BODY = 'Hello, World!';
export const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
  'latin1',
);
/**
 * The answer to a request that asked to close: it says `Connection: close` too, as a server
 * should (RFC 9112 §9.6), so that the client does not send its next request on a connection
 * about to close.
 */
export const CLOSING_RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`,
  'latin1',
);

const END = '\r\n\r\n';
/** A head larger than this without its blank line is not a request this server answers. */
export const MAX_HEAD = 64 * 1024;

/** Whether a request head (without its blank line) has a `Connection: close` field. */
export function asksToClose(head) {
  return /\r\nconnection:[ \t]*close[ \t]*\r\n/i.test(`${head}\r\n`);
}

/**
 * Ends a connection with its closing answer. A client that asked to close and sent nothing
 * after that request (`quiet`) has nothing more to send: once the answer is in the kernel the
 * socket is closed, without waiting for the client's end, as Cask's front (and nginx) does.
 * Otherwise our side is ended and whatever still comes is read and dropped (the caller's
 * 'data' listener) until the client ends too: closing on unread bytes would make the kernel
 * reset the connection, which can destroy the answer in the client's buffers.
 */
export function closeWith(socket, answer, quiet) {
  if (!quiet) {
    socket.end(answer);
    return;
  }
  socket.write(answer);
  if (socket.writableLength === 0) socket.destroy();
  else socket.end();
}

/** What answers `heads` complete request heads: the fixed response for each, the last one the
 *  closing response when that head asked to close. */
export function answersFor(heads, close) {
  const last = close ? CLOSING_RESPONSE : RESPONSE;
  return heads === 1 ? last : Buffer.concat([...Array(heads - 1).fill(RESPONSE), last]);
}

/**
 * Find the complete request heads in what arrived so far. `pending` is the unfinished head
 * carried over from the previous read (a latin1 string), `chunk` the new bytes. Returns how
 * many heads are complete, whether one of them asks to close, what to carry over, and how
 * many bytes came after a closing head (`tail`; 0 without one). Bodies are not read: the
 * bench sends only GETs to this server.
 */
export function scanHeads(pending, chunk) {
  const text = pending + chunk.toString('latin1');
  let heads = 0;
  let close = false;
  let from = 0;
  for (;;) {
    const end = text.indexOf(END, from);
    if (end < 0) break;
    heads += 1;
    if (asksToClose(text.slice(from, end))) {
      close = true;
      from = end + END.length;
      break; // nothing after a closing request is answered
    }
    from = end + END.length;
  }
  return {
    heads,
    close,
    rest: close ? '' : text.slice(from),
    tail: close ? text.length - from : 0,
  };
}

export function createServer() {
  return net.createServer({ noDelay: true }, (socket) => {
    let pending = '';
    socket.on('data', (chunk) => {
      // After the closing answer, whatever the client still sends is read and dropped, as a
      // server lingering to close does: a load generator may send its next request before it
      // sees our FIN, and writing to the ended socket would cost an error (with its stack
      // trace) per connection, charging the ceiling for work no real server does.
      if (socket.writableEnded) return;
      const { heads, close, rest, tail } = scanHeads(pending, chunk);
      pending = rest;
      if (pending.length > MAX_HEAD) {
        socket.destroy();
        return;
      }
      if (heads === 0) return;
      const out = answersFor(heads, close);
      if (close) closeWith(socket, out, tail === 0);
      else socket.write(out);
    });
    socket.on('error', () => socket.destroy());
  });
}

function main() {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) {
    process.stderr.write(`usage: node raw-net.mjs PORT (got ${process.argv[2] ?? 'nothing'})\n`);
    process.exit(2);
  }
  // The same backlog Cask asks for, so neither drops connections the other would queue.
  createServer().listen({ host: '127.0.0.1', port, backlog: 2048 });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
