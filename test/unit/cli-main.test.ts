// main(): subcommands, help, version, exit codes and messages. The serve and bench modules are
// replaced through `importModule`, so no test starts a server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { main, type CliIo } from '../../src/cli.js';
import {
  SETTINGS,
  SETTING_KEYS,
  loadConfig,
  type AnySetting,
  type Config,
} from '../../src/config/index.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

interface Captured {
  stdout: string;
  stderr: string;
  imports: string[];
}

function fakeIo(
  t: TestContext,
  importModule: (specifier: string) => Promise<unknown> = async () => {
    throw new Error('no module should be imported');
  },
): { io: Partial<CliIo>; out: Captured } {
  const cwd = mkdtempSync(join(tmpdir(), 'cask-cli-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const out: Captured = { stdout: '', stderr: '', imports: [] };
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
      env: {},
      cwd,
      importModule: (specifier) => {
        out.imports.push(specifier);
        return importModule(specifier);
      },
    },
  };
}

/** The error Node's ESM loader throws for an import of a file that does not exist. */
function notFound(path: string): Error {
  return Object.assign(new Error(`Cannot find module '${path}' imported from ${SRC}cli.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

test('`main()` returns 2 on a bad option and prints the message to stderr', async (t: TestContext) => {
  t.plan(3);
  let stderr = '';
  t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const code = await main(['serve', '--wrokers', '4']);
  t.mock.restoreAll();
  t.assert.strictEqual(code, 2);
  t.assert.strictEqual(stderr, 'cask: Unknown option: --wrokers (did you mean --workers?)\n');
  t.assert.ok(!stderr.includes('    at '), 'no stack trace');
});

test('`main()` returns 2 on a bad value and names the option and the value', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main(['serve', '-w', 'abc'], io), 2);
  t.assert.strictEqual(out.stderr, 'cask: Invalid value for --workers: "abc" is not an integer\n');
});

test('`main()` returns 2 on an unknown CASK_ variable', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main(['serve'], { ...io, env: { CASK_BIDN: 'x' } }), 2);
  t.assert.strictEqual(
    out.stderr,
    'cask: Unknown environment variable: CASK_BIDN (did you mean CASK_BIND?)\n',
  );
});

test('`main()` returns 2 on an unknown subcommand and suggests one', async (t: TestContext) => {
  t.plan(4);
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main(['serv'], io), 2);
  t.assert.match(out.stderr, /^cask: Unknown command: serv \(did you mean serve\?\)\n/);
  out.stderr = '';
  t.assert.strictEqual(await main(['myapp:application'], io), 2);
  t.assert.match(
    out.stderr,
    /^cask: Unknown command: myapp:application \(did you mean cask serve myapp:application\?\)\n/,
  );
});

test('`main()` returns 2 for server options before the subcommand', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main(['-w', '4', 'serve'], io), 2);
  t.assert.match(
    out.stderr,
    /^cask: Unknown option: -w \(server options go after the command: cask serve -w …\)\n/,
  );
});

test('`main()` prints usage to stderr and returns 2 without a subcommand', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main([], io), 2);
  t.assert.match(out.stderr, /^Usage: cask <command>/);
});

test('`main()` prints the top-level help with --help, -h and help', async (t: TestContext) => {
  t.plan(6);
  for (const args of [['--help'], ['-h'], ['help']]) {
    const { io, out } = fakeIo(t);
    t.assert.strictEqual(await main(args, io), 0);
    t.assert.match(out.stdout, /Usage: cask <command>[\s\S]*serve \[APP\][\s\S]*bench/);
  }
});

test('`main()` prints the version from package.json', async (t: TestContext) => {
  t.plan(3);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main(['--version'], io), 0);
  t.assert.strictEqual(out.stdout, `cask ${pkg.version}\n`);
  t.assert.strictEqual(await main(['-v'], io), 0);
});

test('`main()` lists every option with its default and env var in `serve --help`', async (t: TestContext) => {
  const { io, out } = fakeIo(t);
  t.plan(2 + SETTING_KEYS.length * 3);
  t.assert.strictEqual(await main(['serve', '--help'], io), 0);
  const help = out.stdout.replace(/\n\s+/g, ' ');
  for (const key of SETTING_KEYS) {
    const setting: AnySetting = SETTINGS[key];
    const name = setting.type === 'bool' ? `--[no-]${setting.flag.slice(2)}` : setting.flag;
    t.assert.ok(help.includes(name), `${name} is listed`);
    t.assert.ok(help.includes(setting.env), `${setting.env} is listed`);
    t.assert.ok(
      help.includes(`Default: ${setting.defaultDoc.replace(/`/g, '')}`),
      `default of ${name}`,
    );
  }
  t.assert.deepStrictEqual(out.imports, []);
});

test('`main()` shows `serve --help` even next to a bad option', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t);
  t.assert.strictEqual(await main(['serve', '--wrokers', '2', '-h'], io), 0);
  t.assert.match(out.stdout, /^Usage: cask serve \[APP\] \[options\]/);
});

test('`main()` hands the frozen config to serve() and returns its exit code', async (t: TestContext) => {
  t.plan(6);
  let received: Config | undefined;
  const { io, out } = fakeIo(t, async () => ({
    serve: async (config: Config) => {
      received = config;
      return 7;
    },
  }));
  t.assert.strictEqual(await main(['serve', 'myapp:app', '-w', '3', '-b', '[::1]:0'], io), 7);
  t.assert.deepStrictEqual(out.imports, ['./serve.js']);
  t.assert.strictEqual(received?.app, 'myapp:app');
  t.assert.strictEqual(received?.workers, 3);
  t.assert.deepStrictEqual(received?.bind, [{ kind: 'tcp', host: '::1', port: 0 }]);
  t.assert.ok(Object.isFrozen(received));
});

test('`main()` returns 1 with a clear message when the serve module is not built', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t, async () => {
    throw notFound(join(SRC, 'serve.js'));
  });
  t.assert.strictEqual(await main(['serve'], io), 1);
  t.assert.strictEqual(
    out.stderr,
    'cask: Cannot run serve: src/serve.js is not in this build of Cask (run npm run build)\n',
  );
});

test('`main()` rethrows a missing import inside the serve module', async (t: TestContext) => {
  t.plan(1);
  const { io } = fakeIo(t, async () => {
    throw notFound(join(SRC, 'pool', 'gone.js'));
  });
  await t.assert.rejects(main(['serve'], io), { code: 'ERR_MODULE_NOT_FOUND' });
});

test('`main()` delegates `bench` with its arguments to runBench()', async (t: TestContext) => {
  t.plan(3);
  let args: string[] = [];
  const { io, out } = fakeIo(t, async () => ({
    runBench: async (argv: string[]) => {
      args = argv;
      return 0;
    },
  }));
  t.assert.strictEqual(await main(['bench', 'hello', '--duration', '5s'], io), 0);
  t.assert.deepStrictEqual(out.imports, ['./bench/index.js']);
  t.assert.deepStrictEqual(args, ['hello', '--duration', '5s']);
});

test('`main()` returns 1 with a clear message when the bench module is not built', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t, async () => {
    throw notFound(join(SRC, 'bench', 'index.js'));
  });
  t.assert.strictEqual(await main(['bench'], io), 1);
  t.assert.strictEqual(
    out.stderr,
    'cask: Cannot run bench: src/bench/index.js is not in this build of Cask (run npm run build)\n',
  );
});

test('`main()` returns 1 when the serve module lacks serve()', async (t: TestContext) => {
  t.plan(2);
  const { io, out } = fakeIo(t, async () => ({ start: () => 0 }));
  t.assert.strictEqual(await main(['serve'], io), 1);
  t.assert.strictEqual(
    out.stderr,
    'cask: Cannot run serve: src/serve.js does not export serve()\n',
  );
});

test('`main()` prints a loadable cask.toml for `serve --print-config` without starting', async (t: TestContext) => {
  t.plan(5);
  const { io, out } = fakeIo(t);
  const cwd = io.cwd ?? '/';
  const argv = ['myapp:app', '-w', '3', '--max-body-size', '10m', '-b', 'unix:/run/c.sock'];
  t.assert.strictEqual(await main(['serve', ...argv, '--print-config'], io), 0);
  t.assert.deepStrictEqual(out.imports, []);
  const table = parse(out.stdout);
  t.assert.strictEqual(table['max-body-size'], '10m');
  // Saved as a config file, it gives back the same settings.
  writeFileSync(join(cwd, 'printed.toml'), out.stdout);
  const direct = loadConfig({ argv, env: {}, cwd });
  const printed = loadConfig({ argv: ['-c', 'printed.toml'], env: {}, cwd });
  t.assert.deepStrictEqual({ ...printed, config: null }, direct);
  t.assert.strictEqual(printed.config, join(cwd, 'printed.toml'));
});
