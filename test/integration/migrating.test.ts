// docs/migrating.md, checked: for the gunicorn config file, the uWSGI ini file and the waitress
// command on that page, Cask reads the same settings as from the cask.toml shown beside each,
// says what the page says it says, and serves with them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfigWithNotes, type Config } from '../../src/config/index.js';
import { splitWords } from '../../src/config/gunicorn-file.js';
import { APPS, ROOT, runCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const PAGE = readFileSync(join(ROOT, 'docs', 'migrating.md'), 'utf8');

/** The fenced block after `<!-- migrating: NAME -->`. */
function block(name: string): string {
  const marker = `<!-- migrating: ${name} -->`;
  const at = PAGE.indexOf(marker);
  assert.notEqual(at, -1, `docs/migrating.md has no block ${name}`);
  const open = PAGE.indexOf('```', at);
  const start = PAGE.indexOf('\n', open) + 1;
  return PAGE.slice(start, PAGE.indexOf('```', start));
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-migrating-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The words of a one-line shell command after its program (and `serve`). */
function args(command: string): string[] {
  const words = splitWords(command.trim());
  return words[0] === 'cask' ? words.slice(2) : words.slice(1);
}

/** Both sides' settings, but for what says where they came from. */
function same(from: Config, toml: Config, except: readonly string[] = []): void {
  const strip = (config: Config): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(config).filter(
        ([key]) => key !== 'config' && key !== 'uwsgiIni' && !except.includes(key),
      ),
    );
  assert.deepStrictEqual(strip(from), strip(toml));
}

function warnings(notes: readonly { text: string }[]): string {
  return `${notes.map((n) => n.text).join('\n')}\n`;
}

/** Runs `cask serve ARGS` and asks for `/` once it is ready. */
async function serves(t: TestContext, argv: string[], cwd: string): Promise<void> {
  const server = runCask(['serve', ...argv], { cwd });
  t.after(() => server.stop('SIGKILL'));
  await server.waitFor(/Ready: \d+ worker/, 30_000);
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr())?.[1]);
  assert.equal((await get(port, '/ok')).status, 200);
  assert.equal(await server.stop(), 0);
}

test('docs/migrating.md: the gunicorn.conf.py reads as its cask.toml, with the warnings shown, and serves', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'gunicorn.conf.py'), block('gunicorn.conf.py'));
  writeFileSync(join(dir, 'equivalent.toml'), block('gunicorn cask.toml'));
  const command = args(block('gunicorn command'));
  assert.deepEqual(command, ['-c', 'gunicorn.conf.py']);
  const gunicorn = loadConfigWithNotes({ argv: command, env: {}, cwd: dir });
  const toml = loadConfigWithNotes({ argv: ['-c', 'equivalent.toml'], env: {}, cwd: dir });
  same(gunicorn.config, toml.config, ['workers', 'hooks']);
  assert.equal(
    gunicorn.config.workers,
    cpus().length * 2 + 1,
    'computed by the file, as in gunicorn',
  );
  assert.equal(gunicorn.config.hooks, resolve(dir, toml.config.hooks as string));
  assert.equal(warnings(gunicorn.notes), block('gunicorn says'));

  await serves(
    t,
    [
      ...command,
      '-b',
      '127.0.0.1:0',
      '--pid',
      join(dir, 'cask.pid'),
      'failures:application',
      '--chdir',
      APPS,
    ],
    dir,
  );
});

test('docs/migrating.md: the uwsgi.ini reads as its cask.toml, with the skipped options named, and serves', async (t) => {
  const dir = `${tempDir(t)}/`;
  mkdirSync(join(dir, 'static'));
  writeFileSync(join(dir, 'uwsgi.ini'), block('uwsgi.ini'));
  // The page's cask.toml is for the ini file in /srv/mysite/.
  writeFileSync(
    join(dir, 'equivalent.toml'),
    block('uwsgi cask.toml').replaceAll('/srv/mysite/', dir),
  );
  const command = args(block('uwsgi command'));
  assert.deepEqual(command, ['--uwsgi-ini', 'uwsgi.ini']);
  const uwsgi = loadConfigWithNotes({ argv: command, env: {}, cwd: dir });
  const toml = loadConfigWithNotes({ argv: ['-c', 'equivalent.toml'], env: {}, cwd: dir });
  same(uwsgi.config, toml.config);
  assert.equal(warnings(uwsgi.notes), block('uwsgi says'));

  await serves(
    t,
    [
      ...command,
      '-b',
      '127.0.0.1:0',
      '--python',
      'python3',
      '--error-log',
      '-',
      'failures:application',
      '--chdir',
      APPS,
    ],
    dir,
  );
});

test('docs/migrating.md: the waitress command reads as its cask.toml, with the warning shown, and serves', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'equivalent.toml'), block('waitress cask.toml'));
  const original = args(block('waitress command'));
  const command = args(block('waitress cask command'));
  assert.deepEqual(command, original, 'the same flags after `cask serve`');
  const waitress = loadConfigWithNotes({ argv: command, env: {}, cwd: dir });
  const toml = loadConfigWithNotes({ argv: ['-c', 'equivalent.toml'], env: {}, cwd: dir });
  same(waitress.config, toml.config);
  assert.equal(warnings(waitress.notes.filter((n) => n.level === 'warn')), block('waitress says'));

  // Loopback only here, and a shop made by its factory.
  writeFileSync(
    join(dir, 'shop.py'),
    'def create_app():\n    def app(environ, start_response):\n        start_response("200 OK", [])\n        return [b"shop"]\n    return app\n',
  );
  await serves(
    t,
    command
      .map((a) => (a.startsWith('--listen=') ? '--listen=127.0.0.1:0' : a))
      .concat(['--chdir', dir]),
    dir,
  );
});
