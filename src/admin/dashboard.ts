// Private to src/admin: the /dashboard page. One self-contained HTML document; its only
// script besides its own is Chart.js, served by the admin listener itself from the package's
// dependencies (/dashboard/chart.js), so the page works with no network beyond the server.
// It reads /dashboard/stream (server-sent events): the last two minutes first, then one point
// a second (src/admin/sampler.ts says what a point holds). The token, when the page was opened
// with `?access_token=`, is passed on to the script and the stream.

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 14px system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { padding: 12px 20px; background: #1d2330; color: #fff; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header .k { opacity: .7; margin-right: 4px; }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 14px; padding: 14px; }
  section { background: #fff; border-radius: 6px; padding: 10px 12px; box-shadow: 0 1px 2px #0002; }
  section h2 { font-size: 14px; margin: 0 0 6px; font-weight: 600; }
  .chart { position: relative; height: 200px; }
  #status.down { color: #ff8a80; }
`;

const SCRIPT = `
(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('access_token');
  const suffix = token ? '?access_token=' + encodeURIComponent(token) : '';
  const KEEP = 120;
  const palette = ['#2f6fde', '#e0692c', '#1f9d55', '#b03ac1', '#c2a500', '#d43d51'];
  const charts = {};
  function chart(id, series, options) {
    const ctx = document.getElementById(id);
    charts[id] = new Chart(ctx, {
      type: 'line',
      data: { labels: [], datasets: series.map((s, i) => ({ label: s.label, data: [], borderColor: palette[i], backgroundColor: palette[i], pointRadius: 0, borderWidth: 1.5, tension: 0.2, spanGaps: true })) },
      options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 6 } }, y: Object.assign({ beginAtZero: true }, options && options.y) } }, options && options.extra),
    });
    charts[id].pick = series.map((s) => s.value);
  }
  chart('throughput', [{ label: 'requests/s', value: (p) => p.rps }, { label: '5xx/s', value: (p) => p.errors }]);
  chart('latency', [{ label: 'p50 ms', value: (p) => p.p50 }, { label: 'p90 ms', value: (p) => p.p90 }, { label: 'p99 ms', value: (p) => p.p99 }]);
  chart('queue', [{ label: 'queue depth', value: (p) => p.queueDepth }, { label: 'queue wait ms (mean)', value: (p) => p.queueWaitMs }]);
  chart('utilization', [{ label: 'capacity utilisation %', value: (p) => Math.round(p.utilization * 1000) / 10 }, { label: 'busy threads % of threads', value: (p) => p.threads ? Math.round(p.busyThreads / p.threads * 1000) / 10 : 0 }], { y: { max: 100 } });
  chart('workers', [{ label: 'workers ready', value: (p) => p.workers }, { label: 'threads', value: (p) => p.threads }, { label: 'busy threads', value: (p) => p.busyThreads }]);
  chart('cpu', [{ label: 'front (cores)', value: (p) => p.frontCpu }, { label: 'workers (cores)', value: (p) => p.workersCpu }]);
  chart('rss', [{ label: 'front MiB', value: (p) => Math.round(p.frontRss / 1048576) }, { label: 'workers MiB', value: (p) => Math.round(p.workersRss / 1048576) }]);
  let drawn = 0;
  function add(points) {
    for (const id in charts) {
      const c = charts[id];
      for (const p of points) {
        c.data.labels.push(new Date(p.t).toLocaleTimeString());
        c.pick.forEach((pick, i) => c.data.datasets[i].data.push(pick(p)));
      }
      const extra = c.data.labels.length - KEEP;
      if (extra > 0) { c.data.labels.splice(0, extra); c.data.datasets.forEach((d) => d.data.splice(0, extra)); }
      c.update('none');
    }
    const last = points[points.length - 1];
    if (last) {
      document.getElementById('now-rps').textContent = last.rps;
      document.getElementById('now-util').textContent = Math.round(last.utilization * 100) + '%';
      document.getElementById('now-queue').textContent = last.queueDepth;
      document.getElementById('now-workers').textContent = last.workers;
    }
    drawn += points.length;
    document.body.dataset.points = String(drawn);
  }
  const source = new EventSource('/dashboard/stream' + suffix);
  source.addEventListener('history', (e) => add(JSON.parse(e.data)));
  source.onmessage = (e) => add([JSON.parse(e.data)]);
  source.onopen = () => { const s = document.getElementById('status'); s.textContent = 'live'; s.className = ''; };
  source.onerror = () => { const s = document.getElementById('status'); s.textContent = 'disconnected, retrying'; s.className = 'down'; };
})();
`;

export function dashboardPage(version: string, app: string): string {
  const panel = (id: string, title: string): string =>
    `<section><h2>${title}</h2><div class="chart"><canvas id="${id}"></canvas></div></section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cask dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body data-points="0">
<header><h1>Cask ${escapeHtml(version)}</h1><span>${escapeHtml(app)}</span>
<span><span class="k">req/s</span><b id="now-rps">–</b></span>
<span><span class="k">utilisation</span><b id="now-util">–</b></span>
<span><span class="k">queue</span><b id="now-queue">–</b></span>
<span><span class="k">workers</span><b id="now-workers">–</b></span>
<span id="status" class="down">connecting</span></header>
<main>
${panel('throughput', 'Throughput')}
${panel('latency', 'Latency percentiles (request duration)')}
${panel('queue', 'Queue')}
${panel('utilization', 'Capacity utilisation')}
${panel('workers', 'Workers and threads')}
${panel('cpu', 'CPU')}
${panel('rss', 'Resident memory')}
</main>
<script src="/dashboard/chart.js"></script>
<script>${SCRIPT}</script>
</body></html>
`;
}
