// Real load balancers and web servers in front of Cask (Debian's haproxy and nginx), started
// from a configuration written to a temporary folder, in the foreground, and stopped by PID;
// the configurations themselves come from docs/deploy.md, so the tests run what the docs say.
// Also a fixed-rate client: a bounded, constant load that counts every failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HAPROXY = '/usr/sbin/haproxy';
export const NGINX = '/usr/sbin/nginx';
export const APACHE = '/usr/sbin/apache2';
export const DEPLOY_MD = fileURLToPath(new URL('../../docs/deploy.md', import.meta.url));

/** Why a test needing `binary` cannot run here, or undefined when it is installed. */
export function missing(binary: string, pkg: string): string | undefined {
  return existsSync(binary) ? undefined : `${binary} is not installed (Debian package ${pkg})`;
}

/**
 * The fenced block that follows `<!-- tested: NAME ... -->` in docs/deploy.md: the page marks
 * the configurations its tests read, so the two cannot drift apart.
 */
export function deployBlock(name: string): string {
  const text = readFileSync(DEPLOY_MD, 'utf8');
  const marker = text.indexOf(`<!-- tested: ${name} `);
  if (marker === -1) throw new Error(`docs/deploy.md has no block marked "tested: ${name}"`);
  const open = text.indexOf('```', marker);
  const start = text.indexOf('\n', open) + 1;
  const end = text.indexOf('\n```', start);
  return text.slice(start, end + 1);
}

/** Resolves once something accepts connections on the port. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
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
    if (Date.now() > deadline) throw new Error(`Nothing listens on port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Daemon {
  readonly proc: ChildProcess;
  output(): string;
  /** SIGTERM by PID, then wait for the exit. */
  stop(): Promise<void>;
}

function daemon(argv: string[]): Daemon {
  const [command, ...args] = argv as [string, ...string[]];
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  proc.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** HAProxy in the foreground (`-db`) with `config` plus a minimal global section. */
export function startHaproxy(dir: string, config: string): Daemon {
  const path = join(dir, 'haproxy.cfg');
  writeFileSync(path, `global\n    maxconn 512\n\n${config}`);
  return daemon([HAPROXY, '-f', path, '-db']);
}

/**
 * nginx in the foreground with `server` (an http-context snippet) in a minimal nginx.conf,
 * beside Debian's `uwsgi_params`, `scgi_params` and `fastcgi_params` for its `include` lines.
 */
export function startNginx(dir: string, server: string): Daemon {
  const path = join(dir, 'nginx.conf');
  for (const params of ['uwsgi_params', 'scgi_params', 'fastcgi_params']) {
    if (existsSync(`/etc/nginx/${params}`)) copyFileSync(`/etc/nginx/${params}`, join(dir, params));
  }
  writeFileSync(
    path,
    `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${join(dir, 'body')};
    proxy_temp_path ${join(dir, 'proxy')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    scgi_temp_path ${join(dir, 'scgi')};
${server}
}
`,
  );
  return daemon([NGINX, '-p', dir, '-c', path, '-e', join(dir, 'error.log')]);
}

/**
 * Apache in the foreground with `site` (a VirtualHost from docs/deploy.md) in a standalone
 * apache2.conf: the modules `a2enmod` would enable, logs and run-time files in `dir`.
 */
export function startApache(dir: string, port: number, site: string): Daemon {
  const path = join(dir, 'apache2.conf');
  const modules = [
    'mpm_event',
    'authz_core',
    'headers',
    'proxy',
    'proxy_http',
    'proxy_balancer',
    'proxy_hcheck',
    'slotmem_shm',
    'lbmethod_byrequests',
  ];
  writeFileSync(
    path,
    `ServerRoot /etc/apache2
ServerName localhost
DefaultRuntimeDir ${dir}
PidFile ${join(dir, 'apache2.pid')}
ErrorLog ${join(dir, 'error.log')}
LogLevel warn
Mutex file:${dir} default
User nobody
Group nogroup
Listen 127.0.0.1:${port}
${modules.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`).join('\n')}
${site.replace(/<VirtualHost \*:80>/, `<VirtualHost 127.0.0.1:${port}>`)}
`,
  );
  return daemon([APACHE, '-f', path, '-DFOREGROUND']);
}

export interface RateResult {
  readonly sent: number;
  /** Responses by status. */
  readonly statuses: Map<number, number>;
  /** Every request that did not end in 200: its status and body, or the error. */
  readonly failures: string[];
  /** Which instance answered each 200 response, in order (see `rateLoad()`'s `identify`). */
  readonly servedBy: string[];
}

export interface RateLoad {
  stop(): Promise<RateResult>;
  readonly sent: () => number;
  /** Whether this instance answered since the load started. */
  served(by: string): boolean;
}

/**
 * `rate` GET requests per second to `path`, sent on schedule whether or not the earlier ones
 * have been answered (an open loop, as real clients are), over keep-alive connections.
 * `identify` names the instance that answered from a 200 response's body.
 */
export function rateLoad(
  port: number,
  path: string,
  rate: number,
  identify: (body: string) => string,
): RateLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  const servedBy: string[] = [];
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  let sent = 0;
  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path, agent, headers: { Host: 'example.org' }, timeout: 20_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            const body = Buffer.concat(chunks).toString();
            if (status === 200) servedBy.push(identify(body));
            else failures.push(`${status} ${body.slice(0, 200)}`);
            resolve();
          });
          res.on('error', (error) => {
            failures.push(`response: ${error.message}`);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => {
        failures.push(`request: ${error.message}`);
        resolve();
      });
      req.end();
    });
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * rate) / 1000);
    while (sent < due) {
      sent++;
      const p = one();
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
  }, 5);
  return {
    sent: () => sent,
    served: (by) => servedBy.includes(by),
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      agent.destroy();
      return { sent, statuses, failures, servedBy };
    },
  };
}
