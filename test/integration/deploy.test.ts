// The container parts of docs/deploy.md that run without Docker or a cluster: the image's
// command and health check, and the Deployment's args, probes, preStop and grace period, read
// from the page and run against a real cask, as the container runtime and the kubelet would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';
import { deployBlock, freePort } from '../helpers/proxies.js';

/** The page's app and addresses made into a fixture app and free loopback ports. */
function local(args: readonly string[], ports: Record<string, number>): string[] {
  return args.flatMap((arg) => {
    if (arg === 'myproject.wsgi') return ['several:site', '--chdir', APPS];
    const port = /^0\.0\.0\.0:(\d+)$/.exec(arg)?.[1];
    return port === undefined ? [arg] : [`127.0.0.1:${ports[port] ?? 0}`];
  });
}

/** The JSON array of a Dockerfile instruction (exec form). */
function instruction(dockerfile: string, name: string): string[] {
  const line = dockerfile.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `the Dockerfile has no ${name}`);
  return JSON.parse(line.slice(line.indexOf('['))) as string[];
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

  // `docker stop`: SIGTERM, then SIGKILL after 10 s.
  const stopping = Date.now();
  server.proc.kill('SIGTERM');
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
