// The analyst UI's charts: uPlot (vendored in /lib/uplot) fed from the JSON API with the sign-in cookie.
// GET requests only: the API takes the cookie for reads, and every write goes through an antiforgery-checked form.
window.Discounts = (() => {
  'use strict';
  const palette = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
  const livePollMs = 1000;

  async function getJson(url) {
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function formatSeconds(seconds) {
    if (seconds == null || isNaN(seconds)) return '–';
    const s = Math.max(0, Math.round(seconds));
    if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${s} s`;
  }

  function text(el, message, cls) {
    el.replaceChildren();
    const p = document.createElement('p');
    p.textContent = message;
    if (cls) p.className = cls;
    el.appendChild(p);
  }

  // One uPlot per container, sized to it and resized with it; the instance is kept on the element for tests.
  function chart(el, options, data) {
    const height = Number(el.dataset.height || 300);
    const started = performance.now();
    // Steps and counts, not times, unless a chart says otherwise.
    const plot = new uPlot({ width: Math.max(260, el.clientWidth), height, scales: { x: { time: false } }, ...options }, data, el);
    el._uplot = plot;
    el.dataset.renderMs = (performance.now() - started).toFixed(1);
    countPoints(el);
    new ResizeObserver(() => plot.setSize({ width: Math.max(260, el.clientWidth), height })).observe(el);
    return plot;
  }

  function update(el, data) {
    el._uplot.setData(data);
    countPoints(el);
  }

  // Non-empty values over all series: what the chart actually draws.
  function countPoints(el) {
    let count = 0;
    const data = el._uplot.data;
    for (let s = 1; s < data.length; s++) for (const v of data[s]) if (v != null) count++;
    el.dataset.points = String(count);
  }

  // Train points (every few steps) and validation points (each epoch) on one step axis; a missing value is null.
  function mergeBySteps(runs) {
    const steps = new Set();
    for (const points of runs) for (const p of points) steps.add(p.step);
    const xs = Float64Array.from(steps).sort();
    const index = new Map();
    xs.forEach((x, i) => index.set(x, i));
    const series = [];
    for (const points of runs) {
      const train = new Array(xs.length).fill(null);
      const validation = new Array(xs.length).fill(null);
      for (const p of points) (p.split === 'validation' ? validation : train)[index.get(p.step)] = p.loss;
      series.push(train, validation);
    }
    return [Array.from(xs), ...series];
  }

  const stepAxis = { label: 'step', stroke: '#475569', grid: { stroke: '#e2e8f0' } };
  const lossAxis = { label: 'loss', stroke: '#475569', grid: { stroke: '#e2e8f0' }, size: 60 };

  function lossSeries(name, color, validation) {
    return validation
      ? { label: `${name}validation loss`, stroke: color, width: 2, dash: [6, 4], spanGaps: true, points: { show: true, size: 7, fill: color } }
      : { label: `${name}train loss`, stroke: color, width: 1.5, points: { show: false } };
  }

  async function runDetail(live) {
    const id = live.dataset.runId;
    const lossEl = document.getElementById('loss-chart');
    const metricsEl = document.getElementById('metrics-chart');
    const [loss, metrics] = await Promise.all([getJson(`/api/training/runs/${id}/loss`), getJson(`/api/training/runs/${id}/metrics`)]);
    chart(lossEl, {
      series: [{ label: 'step' }, lossSeries('', palette[0], false), lossSeries('', palette[1], true)],
      axes: [stepAxis, lossAxis],
    }, mergeBySteps([loss.points]));
    const metricData = (m) => [m.epochs.map(e => e.epoch), m.epochs.map(e => e.auc), m.epochs.map(e => e.hitRate10), m.epochs.map(e => e.ndcg10)];
    const metricSeries = (label, color) => ({ label, stroke: color, width: 2, spanGaps: true, points: { show: true, size: 7, fill: color } });
    chart(metricsEl, {
      series: [{ label: 'epoch' }, metricSeries('AUC', palette[2]), metricSeries('HR@10', palette[3]), metricSeries('NDCG@10', palette[4])],
      axes: [{ label: 'epoch', stroke: '#475569', grid: { stroke: '#e2e8f0' }, incrs: [1, 2, 5, 10, 20, 50] }, { label: 'metric', stroke: '#475569', grid: { stroke: '#e2e8f0' } }],
      scales: { x: { time: false } },
      height: 240,
    }, metricData(metrics));

    if (live.dataset.live !== 'true') return;
    const progress = document.getElementById('run-progress');
    const progressText = document.getElementById('run-progress-text');
    const status = document.getElementById('run-status');
    const poll = async () => {
      try {
        const [run, points, epochs] = await Promise.all([
          getJson(`/api/training/runs/${id}`), getJson(`/api/training/runs/${id}/loss`), getJson(`/api/training/runs/${id}/metrics`)]);
        progress.value = run.progressPercent;
        status.textContent = run.status;
        status.className = `status ${run.status}`;
        update(lossEl, mergeBySteps([points.points]));
        update(metricsEl, metricData(epochs));
        const going = run.status === 'queued' || run.status === 'running';
        progressText.textContent = `${run.progressPercent.toFixed(1)} %` + (going && run.etaSeconds != null ? ` · ETA ${formatSeconds(run.etaSeconds)}` : '');
        if (!going) {
          // Finished: the page renders the results, metrics and snapshot server-side.
          location.reload();
          return;
        }
      } catch (error) {
        progressText.textContent = `Could not refresh: ${error.message}`;
      }
      setTimeout(poll, livePollMs);
    };
    setTimeout(poll, livePollMs);
  }

  async function compareRuns(el) {
    if (!el) return;
    const ids = el.dataset.ids.split(',').filter(Boolean);
    try {
      const runs = await Promise.all(ids.map(id => getJson(`/api/training/runs/${id}/loss`)));
      const series = [{ label: 'step' }];
      ids.forEach((id, i) => {
        const color = palette[i % palette.length];
        series.push(lossSeries(`#${id} `, color, false), lossSeries(`#${id} `, color, true));
      });
      chart(el, { series, axes: [stepAxis, lossAxis], height: 380 }, mergeBySteps(runs.map(r => r.points)));
    } catch (error) {
      text(el, `Could not load the loss curves: ${error.message}`, 'error');
    }
  }

  function table(headers, rows) {
    const t = document.createElement('table');
    const head = t.createTHead().insertRow();
    for (const h of headers) {
      const th = document.createElement('th');
      th.textContent = h;
      head.appendChild(th);
    }
    const body = t.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const cell of row) tr.insertCell().textContent = cell;
    }
    return t;
  }

  async function discountsPage() {
    const days = JSON.parse(document.getElementById('activity-data').textContent);
    chart(document.getElementById('activity-chart'), {
      series: [
        { label: 'day' },
        { label: 'quotes', stroke: palette[0], width: 1.5 },
        { label: 'discounted quotes', stroke: palette[3], width: 1.5 },
        { label: 'redemptions', stroke: palette[2], width: 2, fill: 'rgba(5,150,105,0.08)' },
      ],
      axes: [{ label: 'day (UTC)', stroke: '#475569', grid: { stroke: '#e2e8f0' } }, { label: 'count', stroke: '#475569', grid: { stroke: '#e2e8f0' }, size: 60 }],
      scales: { x: { time: true } },
      tzDate: ts => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    }, [days.map(d => Date.parse(d.date + 'T00:00:00Z') / 1000), days.map(d => d.quotes), days.map(d => d.discounted), days.map(d => d.redemptions)]);

    const policyEl = document.getElementById('policy-evaluation');
    getJson('/api/discounts/policy-evaluation').then(result => {
      policyEl.replaceChildren(table(
        ['policy', 'IPS', 'self-norm. IPS', 'doubly robust', 'matched', 'ESS'],
        result.policies.map(p => [p.policy, p.ipsCents.toFixed(1), p.selfNormalisedIpsCents.toFixed(1), p.doublyRobustCents.toFixed(1), p.matchedDecisions, p.effectiveSampleSize.toFixed(1)])));
      const note = document.createElement('p');
      note.className = 'meta';
      note.textContent = `${result.decisions} logged quotes; logged policy earned ${result.loggedMeanRewardCents.toFixed(1)} cents per quote; uplift model ${result.modelVersion}.`;
      policyEl.appendChild(note);
    }).catch(error => text(policyEl, `No estimate: ${error.message}`, 'error'));

    const upliftEl = document.getElementById('uplift-summary');
    getJson('/api/discounts/uplift-evaluation').then(result => {
      text(upliftEl, `Qini coefficient ${result.qiniCoefficient} · uplift AUC ${result.upliftAuc} · uplift at 30 % ${result.upliftAt30} · ${result.trainRows} training offers, ${result.holdoutRows} held out (${result.holdoutTreated} discounted).`, 'meta');
      const q = result.qini;
      chart(document.getElementById('qini-chart'), {
        series: [
          { label: 'targeted' },
          { label: 'uplift model', stroke: palette[0], width: 2 },
          { label: 'random', stroke: '#94a3b8', width: 1.5, dash: [6, 4] },
        ],
        axes: [{ label: 'people targeted (best first)', stroke: '#475569', grid: { stroke: '#e2e8f0' } }, { label: 'incremental buyers', stroke: '#475569', grid: { stroke: '#e2e8f0' }, size: 60 }],
        scales: { x: { time: false } },
      }, [q.map(p => p.targeted), q.map(p => p.model), q.map(p => p.random)]);
    }).catch(error => text(upliftEl, `No evaluation: ${error.message}`, 'error'));
  }

  return { runDetail, compareRuns, discountsPage, mergeBySteps };
})();
