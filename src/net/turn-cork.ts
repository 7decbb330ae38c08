// Holding a socket's writes until the end of the current turn of the event loop, so that
// everything one read of the worker link brings for a client (the pieces of a response, the
// messages of a WebSocket) leaves in one writev instead of one write each. Nothing waits on
// the app: the next tick comes before the loop waits for anything, the worker's next bytes
// included. Used by the HTTP/1.1 response writer and the WebSocket session.

/** What can be corked: a net.Socket, a BareSocket, any Writable. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/** What corks a socket for a turn; its flag says whether it holds that cork now. */
export interface TurnCorkHolder {
  corkedForTurn: boolean;
}

/**
 * Cork `socket` until the next tick, once per holder and turn. Corks nest (a writer that
 * corks around a frame of its own, as `ws` does, only adds to the count), so writes made
 * meanwhile wait for this cork's end.
 */
export function corkForTurn(holder: TurnCorkHolder, socket: Corkable): void {
  if (holder.corkedForTurn) return;
  holder.corkedForTurn = true;
  socket.cork();
  // Arguments rather than a closure: nothing allocated per turn beyond the tick itself.
  process.nextTick(uncorkTurn, holder, socket);
}

function uncorkTurn(holder: TurnCorkHolder, socket: Corkable): void {
  holder.corkedForTurn = false;
  socket.uncork();
}
