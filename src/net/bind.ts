// A listening address, as the settings hold it once parsed (config/parse.ts parses it; the
// listeners, the admin listener and the logs only read it).

/**
 * What a listener speaks when it is not HTTP: the protocol a web server in front uses to pass
 * requests on (nginx's `uwsgi_pass`, `scgi_pass`, `fastcgi_pass`; src/cgi/).
 */
export type WebServerProtocol = 'uwsgi' | 'scgi' | 'fastcgi';

export const WEB_SERVER_PROTOCOLS: readonly WebServerProtocol[] = ['uwsgi', 'scgi', 'fastcgi'];

/**
 * `protocol` is absent for an HTTP listener (HTTP/1.1, HTTP/2, TLS), so every address written
 * before the web-server protocols existed still reads the same.
 */
export type BindAddress =
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      readonly protocol?: WebServerProtocol;
    }
  | { readonly kind: 'unix'; readonly path: string; readonly protocol?: WebServerProtocol };

/**
 * The form `--bind` takes: `127.0.0.1:8000`, `[::1]:8000`, `unix:/run/cask.sock`, and for a web
 * server's protocol `uwsgi://127.0.0.1:8001` or `uwsgi:unix:/run/cask.sock`.
 */
export function formatBind(address: BindAddress): string {
  const protocol = address.protocol;
  if (address.kind === 'unix') {
    return protocol === undefined ? `unix:${address.path}` : `${protocol}:unix:${address.path}`;
  }
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return protocol === undefined
    ? `${host}:${address.port}`
    : `${protocol}://${host}:${address.port}`;
}
