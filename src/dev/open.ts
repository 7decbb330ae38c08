// `--open`: the server's address in the user's browser, once the server listens. A request
// sent before the app has loaded waits in the queue for the first worker, so there is no
// need to wait for "Ready".

import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';
import type { BoundListener } from '../net/listener.js';

/** The first TCP listener's address as a browser should open it (`0.0.0.0` is no host). */
export function browserUrl(
  listeners: readonly Pick<BoundListener, 'url' | 'info'>[],
): string | undefined {
  // A browser speaks HTTP: a listener for a web server in front (uwsgi://, scgi://,
  // fastcgi://) is no address to open.
  const tcp = listeners.find((l) => l.info.serverPort !== '' && /^https?:/.test(l.url));
  if (tcp === undefined) return undefined;
  const url = new URL(tcp.url);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = 'localhost';
  return url.href;
}

/** `$BROWSER` (words; `%s` is the URL, else it comes last), else the platform's opener. */
export function openerCommand(
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): [string, string[]] {
  const browser = env['BROWSER']?.trim();
  if (browser) {
    const words = browser.split(/\s+/);
    const args = words.slice(1).map((w) => w.replace('%s', url));
    if (!words.slice(1).some((w) => w.includes('%s'))) args.push(url);
    return [words[0] as string, args];
  }
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', url]];
  return ['xdg-open', [url]];
}

export function openBrowser(listeners: readonly BoundListener[], logger: Logger): void {
  const url = browserUrl(listeners);
  if (url === undefined) {
    logger.warn('--open: no HTTP listener on TCP to open');
    return;
  }
  const [command, args] = openerCommand(url);
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  child.on('error', (error) =>
    logger.warn(`--open: cannot run ${command} (${error.message}); open ${url} yourself`),
  );
  child.unref();
  logger.info(`Opening ${url} in the browser (${command})`);
}
