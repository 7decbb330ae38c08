// Debian's nginx in front of Cask over uwsgi, SCGI and FastCGI: started from a configuration
// written to a temporary folder (its own pid file, error log, temp paths, the distribution's
// *_params files beside it), in the foreground as a child of the test, and stopped by PID.
// The server blocks come from docs/deploy.md, so the tests run what the page tells users.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX = '/usr/sbin/nginx';
const DEPLOY_MD = fileURLToPath(new URL('../../docs/deploy.md', import.meta.url));
const PARAMS = ['uwsgi_params', 'scgi_params', 'fastcgi_params'];

/** Why the nginx tests cannot run here, or undefined when nginx is installed. */
export function nginxMissing(): string | undefined {
  if (!existsSync(NGINX)) return `${NGINX} is not installed (Debian package nginx-light)`;
  for (const name of PARAMS) {
    if (!existsSync(join('/etc/nginx', name)))
      return `/etc/nginx/${name} is missing (nginx-common)`;
  }
  return undefined;
}

/**
 * The fenced block after `<!-- tested: NAME ... -->` in docs/deploy.md (the page marks each
 * configuration its tests read).
 */
export function deployConfig(name: string): string {
  const text = readFileSync(DEPLOY_MD, 'utf8');
  const marker = text.indexOf(`<!-- tested: ${name} `);
  if (marker === -1) throw new Error(`docs/deploy.md has no block marked "tested: ${name}"`);
  const start = text.indexOf('\n', text.indexOf('```', marker)) + 1;
  return text.slice(start, text.indexOf('\n```', start) + 1);
}

export interface RunningNginx {
  /** Its error log so far (upstream errors are logged at `error`). */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * nginx with `http` (server and upstream blocks) as its http context; resolves once every
 * port in `ports` accepts connections. Run as root, its workers stay root so they can reach
 * the test's temporary folder and Unix sockets.
 */
export async function startNginx(
  dir: string,
  http: string,
  ports: number[],
): Promise<RunningNginx> {
  for (const name of PARAMS) copyFileSync(join('/etc/nginx', name), join(dir, name));
  const errorLog = join(dir, 'error.log');
  const conf = join(dir, 'nginx.conf');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  writeFileSync(
    conf,
    `${asRoot ? 'user root root;\n' : ''}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${join(dir, 'body')};
    proxy_temp_path ${join(dir, 'proxy')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    scgi_temp_path ${join(dir, 'scgi')};
${http}
}
`,
  );
  const proc = spawn(NGINX, ['-p', dir, '-c', conf, '-e', errorLog, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const read = (): string => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const running: RunningNginx = {
    errorLog: read,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
  try {
    for (const port of ports) await waitForPort(port, () => proc.exitCode !== null);
  } catch (error) {
    await running.stop();
    throw new Error(`${(error as Error).message}\nnginx: ${stderr}${read()}`);
  }
  return running;
}

async function waitForPort(port: number, gone: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (gone()) throw new Error(`nginx exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nginx is not listening on ${port} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface CountingProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A TCP relay on 127.0.0.1 to `target` that counts the connections made through it: how the
 * tests see whether nginx kept its connection to Cask open from one request to the next. Each
 * side's half-close and reset are passed on as they came, so nginx sees what Cask did.
 */
export function countingProxy(target: number): Promise<CountingProxy> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const reset = (socket: Socket): void => {
    if (socket.destroyed) return;
    try {
      socket.resetAndDestroy();
    } catch {
      socket.destroy();
    }
  };
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    connections++;
    const upstream = connect({ port: target, host: '127.0.0.1', allowHalfOpen: true });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(to);
      from.on('error', () => reset(to));
      from.on('close', () => sockets.delete(from));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : 0,
        get connections() {
          return connections;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
