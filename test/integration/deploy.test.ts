// The container parts of docs/deploy.md that run without Docker or a cluster: the image's
// command and health check, and the Deployment's args, probes, preStop and grace period, read
// from the page and run against a real cask, as the container runtime and the kubelet would.
// The image's install steps are a script (examples/deploy/install-cask.sh) that the Dockerfile
// runs: here it runs the same way, into a temporary prefix, from the tarball `npm pack` makes,
// and the `cask` it installed serves the image's CMD. `docker build` runs where Docker does.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { APPS, ROOT, onPath, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';
import { deployBlock } from '../helpers/proxies.js';
import { freePort } from '../helpers/ports.js';

const EXAMPLES = join(ROOT, 'examples', 'deploy');
const DOCKERFILE = readFileSync(join(EXAMPLES, 'Dockerfile'), 'utf8');
const SCRIPT = readFileSync(join(EXAMPLES, 'install-cask.sh'), 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};

/** The page's addresses made into free loopback ports. */
function bound(args: readonly string[], ports: Record<string, number>): string[] {
  return args.map((arg) => {
    const port = /^0\.0\.0\.0:(\d+)$/.exec(arg)?.[1];
    return port === undefined ? arg : `127.0.0.1:${ports[port] ?? 0}`;
  });
}

/** The page's app and addresses made into a fixture app and free loopback ports. */
function local(args: readonly string[], ports: Record<string, number>): string[] {
  const app = args.flatMap((arg) =>
    arg === 'myproject.wsgi' ? ['several:site', '--chdir', APPS] : [arg],
  );
  return bound(app, ports);
}

/** Each instruction of a Dockerfile with its arguments, continuation lines joined. */
function instructions(dockerfile: string): Array<{ name: string; rest: string }> {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => /^[A-Z]+ /.test(line))
    .map((line) => ({
      name: line.slice(0, line.indexOf(' ')),
      rest: line.slice(line.indexOf(' ') + 1),
    }));
}

/** The JSON array of a Dockerfile instruction (exec form). */
function instruction(dockerfile: string, name: string): string[] {
  const line = instructions(dockerfile).find((i) => i.name === name);
  assert.ok(line, `the Dockerfile has no ${name}`);
  return JSON.parse(line.rest.slice(line.rest.indexOf('['))) as string[];
}

/** The signal `docker stop` sends: STOPSIGNAL, SIGTERM without one. */
function stopSignal(dockerfile: string): NodeJS.Signals {
  const line = instructions(dockerfile).find((i) => i.name === 'STOPSIGNAL');
  return (line?.rest.trim() ?? 'SIGTERM') as NodeJS.Signals;
}

test('the Dockerfile: its CMD serves, its HEALTHCHECK passes once ready, `docker stop` fits', async (t) => {
  const dockerfile = deployBlock('Dockerfile');
  const entrypoint = instruction(dockerfile, 'ENTRYPOINT');
  assert.equal(entrypoint.at(-1), 'cask');
  const [http, admin] = [await freePort(), await freePort()];
  const args = local(instruction(dockerfile, 'CMD'), { '8000': http, '9000': admin });
  const server = await startCask(args);
  t.after(() => server.stop());
  assert.equal((await get(http, '/')).status, 200);

  const [python, ...check] = instruction(dockerfile, 'HEALTHCHECK');
  const probe = (): number | null =>
    spawnSync(
      python as string,
      check.map((a) => a.replace(':9000/', `:${admin}/`)),
      {
        timeout: 5000,
      },
    ).status;
  assert.equal(probe(), 0);

  // `docker stop`: the STOPSIGNAL, then SIGKILL after 10 s.
  const stopping = Date.now();
  server.proc.kill(stopSignal(dockerfile));
  await until(() => probe() !== 0, 2000, 'the health check to fail');
  assert.equal(await server.exited, 0);
  assert.ok(Date.now() - stopping < 10_000, `stopping took ${Date.now() - stopping} ms`);
});

interface Container {
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  lifecycle: { preStop: { exec: { command: string[] } } };
}

/** The manifests of the page as JSON, by Debian's python3-yaml; undefined without it. */
function manifests(): Array<Record<string, unknown>> | undefined {
  const run = spawnSync(
    'python3',
    ['-c', 'import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))'],
    { input: deployBlock('kubernetes'), encoding: 'utf8' },
  );
  if (run.status !== 0) return undefined;
  return JSON.parse(run.stdout) as Array<Record<string, unknown>>;
}

const noYaml =
  spawnSync('python3', ['-c', 'import yaml']).status === 0
    ? undefined
    : 'python3 has no yaml module (Debian package python3-yaml)';

test(
  'the Kubernetes Deployment: its probes answer, and a deleted pod drains within its grace period',
  { skip: noYaml },
  async (t) => {
    const deployment = manifests()?.find((m) => m.kind === 'Deployment') as {
      spec: {
        template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } };
      };
    };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0] as Container;
    const config = loadConfig({ argv: container.args.slice(1), env: {} });
    const preStop = container.lifecycle.preStop.exec.command;
    assert.equal(preStop[0], 'sleep');
    const needed = Number(preStop[1]) + config.shutdownDelay + config.gracefulTimeout;
    assert.ok(
      pod.terminationGracePeriodSeconds > needed,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= ${needed}`,
    );

    const ports: Record<string, number> = {};
    const named: Record<string, number> = {};
    for (const port of container.ports) {
      const local = await freePort();
      ports[String(port.containerPort)] = local;
      named[port.name] = local;
    }
    const server = await startCask(local(container.args, ports));
    t.after(() => server.stop());
    const probe = async (which: 'readinessProbe' | 'livenessProbe'): Promise<number> => {
      const { path, port } = container[which].httpGet;
      return (await get(named[port] as number, path)).status;
    };
    assert.equal(await probe('readinessProbe'), 200);
    assert.equal(await probe('livenessProbe'), 200);
    assert.equal((await get(named['http'] as number, '/')).status, 200);

    // The kubelet: preStop (its sleep elapses while endpoints drop the pod), then SIGTERM.
    const stopping = Date.now();
    server.proc.kill('SIGTERM');
    await until(async () => (await probe('readinessProbe')) === 503, 1000, 'unready');
    assert.equal(await probe('livenessProbe'), 200);
    assert.equal((await get(named['http'] as number, '/')).status, 200);
    assert.equal(await server.exited, 0);
    const took = (Date.now() - stopping) / 1000;
    assert.ok(took >= config.shutdownDelay, `exited after ${took} s, before the shutdown delay`);
    assert.ok(took + Number(preStop[1]) < pod.terminationGracePeriodSeconds);
  },
);

test('the Dockerfile and install-cask.sh on the page are the files in examples/deploy', () => {
  assert.equal(deployBlock('Dockerfile'), DOCKERFILE);
  assert.equal(deployBlock('install-cask.sh'), SCRIPT);
});

test('the image: a Debian Python image, Node from Debian and new enough, run as a user', () => {
  const all = instructions(DOCKERFILE);
  const from = all.filter((i) => i.name === 'FROM').map((i) => i.rest);
  // Debian 13 (trixie) has Node 20; Debian 12 (bookworm) has Node 18, below `engines`.
  assert.deepEqual(from.length, 1);
  assert.match(from[0] as string, /^python:3\.\d+-slim-trixie$/);
  assert.match(SCRIPT, /apt-get install -y --no-install-recommends nodejs npm /);
  assert.equal(PKG.engines.node, `>=${/^NODE_MIN=(\S+)/m.exec(SCRIPT)?.[1]}`);
  const user = all.filter((i) => i.name === 'USER').at(-1)?.rest;
  assert.ok(user !== undefined && !['root', '0'].includes(user), `the image runs as ${user}`);
});

test('install-cask.sh stops before installing anything without VIRTUAL_ENV or with a bad CASK_APT', () => {
  const script = join(EXAMPLES, 'install-cask.sh');
  const prefix = join(tmpdir(), `cask-deploy-never-${process.pid}`);
  const env = { PATH: process.env.PATH, CASK_PREFIX: prefix };
  const unset = spawnSync('sh', [script, 'cask-wsgi'], { env, encoding: 'utf8' });
  assert.equal(unset.status, 1);
  assert.equal(
    unset.stderr,
    'install-cask.sh: Set VIRTUAL_ENV to the virtualenv to create: unset\n',
  );
  const apt = spawnSync('sh', [script, 'cask-wsgi'], {
    env: { ...env, VIRTUAL_ENV: join(prefix, 'venv'), CASK_APT: 'maybe' },
    encoding: 'utf8',
  });
  assert.equal(apt.status, 1);
  assert.equal(apt.stderr, 'install-cask.sh: Invalid CASK_APT (auto, yes or no): maybe\n');
  assert.equal(existsSync(prefix), false, `${prefix} was made`);
});

const noNpm = onPath('npm') === undefined ? 'npm is not installed' : undefined;
const noVenv =
  spawnSync('python3', ['-c', 'import ensurepip, venv']).status === 0
    ? undefined
    : 'python3 has no venv with ensurepip (Debian package python3-venv)';

const work = mkdtempSync(join(tmpdir(), 'cask-deploy-'));
after(() => rmSync(work, { recursive: true, force: true }));

let tarball: string | undefined;
/** The tarball `npm pack` makes of this repository, made once. */
function pack(): string {
  if (tarball !== undefined) return tarball;
  // The build is done (npm test builds first): pack what it made, without building again.
  const packed = spawnSync(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(packed.status, 0, `npm pack failed:\n${packed.stderr}`);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  tarball = join(work, filename);
  return tarball;
}

/** A wheel made here (pip installs it without an index): a module `greeting`. */
function wheel(): string {
  const src = join(work, 'greeting');
  const info = join(src, 'greeting-1.0.dist-info');
  mkdirSync(info, { recursive: true });
  writeFileSync(join(src, 'greeting.py'), 'WORDS = "hello from the virtualenv"\n');
  writeFileSync(join(info, 'METADATA'), 'Metadata-Version: 2.1\nName: greeting\nVersion: 1.0\n');
  writeFileSync(
    join(info, 'WHEEL'),
    'Wheel-Version: 1.0\nGenerator: deploy.test.ts\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  );
  const files = ['greeting.py', 'METADATA', 'WHEEL', 'RECORD'].map((f) =>
    f === 'greeting.py' ? f : `greeting-1.0.dist-info/${f}`,
  );
  writeFileSync(join(info, 'RECORD'), files.map((f) => `${f},,\n`).join(''));
  const file = join(work, 'greeting-1.0-py3-none-any.whl');
  const zip = spawnSync(
    'python3',
    ['-m', 'zipfile', '-c', file, 'greeting.py', 'greeting-1.0.dist-info'],
    { cwd: src, encoding: 'utf8' },
  );
  assert.equal(zip.status, 0, zip.stderr);
  return file;
}

/**
 * A build context as the page describes it: the Dockerfile, install-cask.sh, the tarball, the
 * app's requirements.txt and the app, the package `myproject` whose `wsgi` the CMD names.
 */
function context(name: string, requirements: string, wsgi: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'myproject'), { recursive: true });
  for (const file of ['Dockerfile', 'install-cask.sh']) {
    copyFileSync(join(EXAMPLES, file), join(dir, file));
  }
  copyFileSync(pack(), join(dir, basename(pack())));
  writeFileSync(join(dir, 'requirements.txt'), requirements);
  writeFileSync(join(dir, 'myproject', '__init__.py'), '');
  writeFileSync(join(dir, 'myproject', 'wsgi.py'), wsgi);
  return dir;
}

const WSGI = (imports: string, words: string): string => `import sys
${imports}

def application(environ, start_response):
    body = ("%s\\n%s" % (${words}, sys.prefix)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`;

test(
  'install-cask.sh, run as the Dockerfile runs it into a temporary prefix: the installed `cask` serves the CMD from the virtualenv, the HEALTHCHECK passes, STOPSIGNAL stops it',
  { skip: noNpm ?? noVenv, timeout: 120_000 },
  async (t) => {
    // The app imports what only its requirements install: served, it ran in the virtualenv.
    const app = context('context', `${wheel()}\n`, WSGI('import greeting', 'greeting.WORDS'));
    const stage = join(work, 'install'); // the image's /tmp/install/
    const prefix = join(work, 'prefix'); // npm's global prefix, /usr/local in the image
    const venv = join(work, 'venv');
    const all = instructions(DOCKERFILE);

    // ENV, with the image's virtualenv made into one here.
    const env: Record<string, string> = {};
    for (const pair of all.filter((i) => i.name === 'ENV').flatMap((i) => i.rest.split(/\s+/))) {
      const [key, value] = pair.split('=') as [string, string];
      env[key] = key === 'VIRTUAL_ENV' ? venv : value;
    }
    assert.ok(env['VIRTUAL_ENV'], 'the Dockerfile sets no VIRTUAL_ENV');

    // COPY into /tmp/install/, wildcards matched as Docker matches them.
    const copy = all.find((i) => i.name === 'COPY' && i.rest.endsWith(' /tmp/install/'));
    assert.ok(copy, 'the Dockerfile copies nothing into /tmp/install/');
    mkdirSync(stage);
    for (const source of copy.rest.split(/\s+/).slice(0, -1)) {
      const glob = source.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
      const found = readdirSync(app).filter((f) => new RegExp(`^${glob}$`).test(f));
      assert.ok(found.length > 0, `COPY ${source}: nothing in the build context`);
      for (const file of found) copyFileSync(join(app, file), join(stage, file));
    }

    // The RUN of install-cask.sh, its clean-up left out (it would empty npm's cache here).
    const run = all.find((i) => i.name === 'RUN' && i.rest.includes('install-cask.sh'));
    assert.ok(run, 'the Dockerfile runs no install-cask.sh');
    const command = (run.rest.split('&&')[0] as string).replaceAll('/tmp/install/', `${stage}/`);
    assert.doesNotMatch(command, /\/tmp\/install/);
    const installed = spawnSync('sh', ['-c', command], {
      cwd: stage,
      encoding: 'utf8',
      timeout: 100_000,
      env: {
        ...process.env,
        ...env,
        CASK_PREFIX: prefix,
        // Cask's dependencies come from npm's cache, where the clone's own `npm install` put
        // them; the app's one requirement is a local wheel.
        npm_config_prefer_offline: 'true',
        npm_config_ignore_scripts: 'true',
        PIP_NO_INDEX: '1',
      },
    });
    assert.equal(installed.status, 0, `install-cask.sh failed:\n${installed.stderr}`);
    assert.match(installed.stderr, /node and npm are on PATH already: skipping apt-get/);

    // ENTRYPOINT and CMD, `cask` found on PATH as in the image, in the app the COPY put there.
    let entrypoint = instruction(DOCKERFILE, 'ENTRYPOINT');
    if (entrypoint[0] === 'tini' && onPath('tini') === undefined) {
      t.diagnostic('tini is not installed here (Debian package tini): cask runs without it');
      entrypoint = entrypoint.slice(entrypoint.indexOf('--') + 1);
    }
    const path = `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`;
    const found = spawnSync('sh', ['-c', 'command -v cask'], { env: { PATH: path } });
    assert.equal(String(found.stdout).trim(), join(prefix, 'bin', 'cask'));
    const version = spawnSync(join(prefix, 'bin', 'cask'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout, `cask ${PKG.version}\n`);

    const [http, admin] = [await freePort(), await freePort()];
    const ports = { '8000': http, '9000': admin };
    const [command0, ...args] = [...entrypoint, ...bound(instruction(DOCKERFILE, 'CMD'), ports)];
    const child = spawn(command0 as string, args, {
      cwd: app,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env, PATH: path },
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let log = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (log += s));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(
      () => /Ready: \d+ worker/.test(log) || child.exitCode !== null,
      30_000,
      'the installed cask to be ready',
    );
    assert.ok(/Ready: \d+ worker/.test(log), `the installed cask did not start:\n${log}`);

    const response = await get(http, '/');
    assert.equal(response.status, 200, log);
    const [words, where] = response.body.toString().split('\n') as [string, string];
    assert.equal(words, 'hello from the virtualenv');
    assert.equal(realpathSync(where), realpathSync(venv));

    const [python, ...check] = instruction(DOCKERFILE, 'HEALTHCHECK');
    const probe = (): number | null =>
      spawnSync(
        python as string,
        check.map((a) => a.replace(':9000/', `:${admin}/`)),
        { timeout: 5000 },
      ).status;
    assert.equal(probe(), 0);

    child.kill(stopSignal(DOCKERFILE));
    await until(() => probe() !== 0, 2000, 'the health check to fail');
    assert.equal(await exited, 0);
  },
);

/** Why `docker build` cannot run here, or undefined when it can. */
function noDocker(): string | undefined {
  if (onPath('docker') === undefined) return 'docker is not installed';
  if (spawnSync('docker', ['info'], { timeout: 10_000 }).status !== 0) {
    return 'docker reaches no daemon (`docker info` fails); the install steps are tested above';
  }
  return noNpm;
}

test(
  '`docker build` of the Dockerfile, and `cask --version` in the image',
  { skip: noDocker(), timeout: 900_000 },
  (t) => {
    // No requirements: the build's pip would need an index, which a build may not reach.
    const app = context('docker', '', WSGI('', '"hello from the image"'));
    const tag = `cask-deploy-test:${process.pid}`;
    const build = spawnSync('docker', ['build', '--tag', tag, app], {
      encoding: 'utf8',
      timeout: 850_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    t.after(() => spawnSync('docker', ['image', 'rm', '--force', tag]));
    assert.equal(build.status, 0, `docker build failed:\n${build.stderr}`);
    const version = spawnSync('docker', ['run', '--rm', tag, '--version'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(version.stdout, `cask ${PKG.version}\n`, version.stderr);
  },
);
