// Static files and X-Sendfile with real frameworks, run by Debian's python3: a Django site's
// `collectstatic` output served by `--static`, and Flask's `send_file` through X-Sendfile.
// Each test skips, saying why, when its framework is missing (.ci/run installs both).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { APPS, DEBIAN_PYTHON, debianMissing, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const COLLECT = `
import sys, django
from django.conf import settings
settings.configure(
    SECRET_KEY="cask-test-not-secret",
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.messages", "django.contrib.sessions", "django.contrib.staticfiles"],
    STATIC_URL="/static/",
    STATIC_ROOT=sys.argv[1],
    STATICFILES_STORAGE="django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
)
django.setup()
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)
`;

test(
  "a Django site's collectstatic output is served by --static, fingerprinted names immutable",
  { skip: debianMissing('django', 'python3-django') },
  async (t: TestContext) => {
    t.plan(8);
    const dir = mkdtempSync(join(tmpdir(), 'cask-django-static-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const root = join(dir, 'staticfiles');
    const collected = spawnSync(DEBIAN_PYTHON, ['-c', COLLECT, root], { encoding: 'utf8' });
    if (collected.status !== 0) throw new Error(`collectstatic failed: ${collected.stderr}`);
    const manifest = JSON.parse(readFileSync(join(root, 'staticfiles.json'), 'utf8')) as {
      paths: Record<string, string>;
    };
    const hashed = manifest.paths['admin/css/base.css'] as string;

    const server = await startCask([
    'django_site:application', '--chdir', APPS, '--python', DEBIAN_PYTHON,
    '--static', `/static=${root}`, '--static-immutable', '--static-max-age', '10m',
  ]); // prettier-ignore
    t.after(() => server.stop());

    const plain = await get(server.port, '/static/admin/css/base.css');
    t.assert.strictEqual(plain.status, 200);
    t.assert.strictEqual(plain.headers['content-type'], 'text/css; charset=utf-8');
    t.assert.ok(plain.body.equals(readFileSync(join(root, 'admin/css/base.css'))));
    t.assert.strictEqual(plain.headers['cache-control'], 'public, max-age=600');

    const fingerprinted = await get(server.port, `/static/${hashed}`);
    t.assert.strictEqual(fingerprinted.status, 200);
    t.assert.strictEqual(
      fingerprinted.headers['cache-control'],
      'public, max-age=31536000, immutable',
    );
    const again = await get(server.port, `/static/${hashed}`, {
      'If-None-Match': fingerprinted.headers.etag as string,
    });
    t.assert.strictEqual(again.status, 304);
    // The app still answers everything else.
    t.assert.strictEqual((await get(server.port, '/echo/', { Host: 'django.test' })).status, 200);
  },
);

test(
  "Flask's send_file with USE_X_SENDFILE is sent by the front",
  { skip: debianMissing('flask', 'python3-flask') },
  async (t: TestContext) => {
    t.plan(7);
    const dir = mkdtempSync(join(tmpdir(), 'cask-flask-sendfile-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const report = 'numbers,and,more,numbers\n'.repeat(4000);
    writeFileSync(join(dir, 'report.csv'), report);
    const server = await startCask(
      ['flask_sendfile:app', '--chdir', APPS, '--python', DEBIAN_PYTHON, '--sendfile-root', dir],
      { env: { CASK_TEST_FILES: dir } },
    );
    t.after(() => server.stop());
    const r = await get(server.port, '/download/report.csv');
    t.assert.strictEqual(r.status, 200);
    t.assert.strictEqual(r.body.toString(), report);
    t.assert.strictEqual(r.headers['x-sendfile'], undefined);
    t.assert.match(r.headers['content-disposition'] ?? '', /attachment; filename=report.csv/);
    t.assert.strictEqual(r.headers['content-length'], String(report.length));
    const part = await get(server.port, '/download/report.csv', { Range: 'bytes=0-6' });
    t.assert.strictEqual(part.body.toString(), 'numbers');
    const cached = await get(server.port, '/download/report.csv', {
      'If-None-Match': r.headers.etag as string,
    });
    t.assert.strictEqual(cached.status, 304);
  },
);
