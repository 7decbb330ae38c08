// The ceiling of `cask bench` (raw-net.mjs) without net.Socket: the same answers, on the TCP
// handles libuv hands to Node, with no stream, no EventEmitter and no Socket object per
// connection. It measures how much of a connection's cost in Node is the Socket machinery
// itself, which bears on what the connection-per-request goals would take
// (docs/performance.md, "What the remaining goals would take").
//
// Not a row of `cask bench`: it reaches into Node's internal bindings
// (`process.binding('tcp_wrap')` and `'stream_wrap'`), which Node does not document and may
// change in any release. It checks that they have what it uses and exits 2 saying so
// otherwise. Cask's front takes its plain TCP connections the same way
// (src/net/bare-socket.ts), and falls back to net.Socket where those bindings are missing.
//
// usage: node raw-handle.mjs PORT
import { pathToFileURL } from 'node:url';
import { MAX_HEAD, answersFor, scanHeads } from './raw-net.mjs';

/** The internal bindings used, or a reason they cannot be. */
function bindings() {
  try {
    const { TCP, constants } = process.binding('tcp_wrap');
    const { WriteWrap, ShutdownWrap, kReadBytesOrError, streamBaseState } =
      process.binding('stream_wrap');
    const found = { TCP, constants, WriteWrap, ShutdownWrap, kReadBytesOrError, streamBaseState };
    const missing = Object.keys(found).filter((key) => found[key] === undefined);
    if (missing.length > 0) return `this Node's bindings lack ${missing.join(', ')}`;
    return found;
  } catch (error) {
    return `this Node has no such bindings (${error.message})`;
  }
}

/**
 * Listens on 127.0.0.1:`port` and answers as raw-net.mjs does: every request head with the
 * fixed response, the one that asks to close with the closing response, then closes at once
 * (the client sent nothing after it) or after a shutdown (it did). Returns the listening handle.
 */
export function listen(port) {
  const b = bindings();
  if (typeof b === 'string') throw new Error(b);
  const { TCP, constants, WriteWrap, ShutdownWrap, kReadBytesOrError, streamBaseState } = b;
  const server = new TCP(constants.SERVER);
  let err = server.bind('127.0.0.1', port);
  if (err === 0) err = server.listen(2048); // the backlog Cask asks for
  if (err !== 0) throw new Error(`cannot listen on 127.0.0.1:${port} (libuv error ${err})`);

  // Per handle: the unfinished head, and whether the closing answer has gone.
  const pending = new WeakMap();
  const closing = new WeakSet();

  function write(handle, bytes, then) {
    const req = new WriteWrap();
    req.handle = handle;
    req.oncomplete = then;
    req.async = false;
    const status = handle.writeBuffer(req, bytes);
    // Written at once (the usual case on loopback): libuv will not call oncomplete.
    if (status === 0 && !req.async) then?.(0);
  }

  function close(handle) {
    if (pending.has(handle)) {
      pending.delete(handle);
      handle.close();
    }
  }

  // Called by the handle with itself as `this`; arrow functions below keep it.
  function onread(arrayBuffer) {
    const n = streamBaseState[kReadBytesOrError];
    if (n < 0) {
      close(this); // the client's end (or an error): nothing more to do
      return;
    }
    if (closing.has(this)) return; // read and dropped, as a lingering close does
    const {
      heads,
      close: asks,
      rest,
      tail,
    } = scanHeads(pending.get(this), Buffer.from(arrayBuffer, 0, n));
    if (rest.length > MAX_HEAD) {
      close(this);
      return;
    }
    pending.set(this, rest);
    if (heads === 0) return;
    const out = answersFor(heads, asks);
    if (!asks) {
      write(this, out);
      return;
    }
    closing.add(this);
    write(this, out, () => {
      if (tail === 0) {
        close(this); // nothing came after the closing request: close at once
        return;
      }
      const req = new ShutdownWrap();
      req.handle = this;
      req.oncomplete = () => {}; // the client's end comes to onread and closes the handle
      this.shutdown(req);
    });
  }

  server.onconnection = (status, handle) => {
    if (status !== 0 || handle === undefined) return;
    handle.setNoDelay(true);
    pending.set(handle, '');
    handle.onread = onread;
    handle.readStart();
  };
  return server;
}

function main() {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) {
    process.stderr.write(`usage: node raw-handle.mjs PORT (got ${process.argv[2] ?? 'nothing'})\n`);
    process.exit(2);
  }
  try {
    listen(port);
  } catch (error) {
    process.stderr.write(`raw-handle: ${error.message}\n`);
    process.exit(2);
  }
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
