// Ports for servers a test must configure by number (nginx, HAProxy, a Cask that comes back on
// the same port). A port taken from the kernel with listen(0) and released at once is drawn
// from the ephemeral range, the same range the kernel hands out as the source port of every
// outgoing connection; with other test files opening thousands of connections at the same
// time, such a port can be in use again by the time the server binds it, and the server then
// fails to start with EADDRINUSE. Drawing from below the ephemeral range leaves only other
// tests' picks here to collide with, and each pick is checked by binding it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux's default when it cannot be read). */
function ephemeralStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port free right now on 127.0.0.1, outside the range the kernel gives outgoing connections. */
export async function freePort(): Promise<number> {
  const highest = ephemeralStart() - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOWEST} and ${highest} after 100 tries`);
}
