// A listening address, as the settings hold it once parsed (config/parse.ts parses it; the
// listeners, the admin listener and the logs only read it).

export type BindAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** `127.0.0.1:8000`, `[::1]:8000` or `unix:/run/cask.sock`: the form `--bind` takes. */
export function formatBind(address: BindAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
