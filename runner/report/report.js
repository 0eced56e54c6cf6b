// faultline report.html: draws the page from the results.json document embedded in
// script element #faultline-results. Embedded into report_assets.cpp at build time (no network).
// Missing numbers (null) are shown as "n/a" and left out of charts, never drawn as 0.
(function () {
  'use strict';

  var R = JSON.parse(document.getElementById('faultline-results').textContent);
  var app = document.getElementById('app');

  // ---------- helpers ----------
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function obj(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function get(o, path) {
    var cur = o;
    for (var i = 0; i < path.length; i++) {
      if (cur === null || typeof cur !== 'object') return null;
      cur = cur[path[i]];
    }
    return cur === undefined ? null : cur;
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    arr(children).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  function sig(v, digits) {
    if (!isNum(v)) return 'n/a';
    if (v === 0) return '0';
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    var s = Number(v.toPrecision(digits || 3));
    return String(s);
  }
  // Phase boundaries and timeline instants: 10 ms resolution is plenty for a report.
  function fmtT(v) { return isNum(v) ? String(Math.round(v * 100) / 100) : 'n/a'; }
  // Measured values of assertions whose unit is seconds read better with a unit.
  var SECONDS_KINDS = { latency: true, recovery_time: true };
  function fmtMeasured(a) {
    if (isNum(a.measured) && SECONDS_KINDS[a.kind]) return fmtSeconds(a.measured);
    return fmtAny(a.measured);
  }
  function fmtCount(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : 'n/a'; }
  function fmtPct(v) {
    if (!isNum(v)) return 'n/a';
    if (v === 0) return '0 %';
    var p = v * 100;
    return (Math.abs(p) < 0.01 ? p.toExponential(1) : sig(p, 3)) + ' %';
  }
  function fmtSeconds(v) {
    if (!isNum(v)) return 'n/a';
    var a = Math.abs(v);
    if (a === 0) return '0 s';
    if (a < 1e-3) return sig(v * 1e6, 3) + ' µs';
    if (a < 1) return sig(v * 1e3, 3) + ' ms';
    return sig(v, 3) + ' s';
  }
  function fmtBytes(v) {
    if (!isNum(v)) return 'n/a';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return sig(v, 3) + ' ' + units[i];
  }
  // Decimal (SI) bytes for chart axes: ticks land on round numbers (5 MB, 10 MB).
  function fmtBytesSI(v) {
    if (!isNum(v)) return 'n/a';
    var units = ['B', 'kB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return sig(v, 3) + ' ' + units[i];
  }
  function fmtAny(v) {
    if (v === null || v === undefined) return 'n/a';
    if (isNum(v)) return sig(v, 4);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function table(headers, rows, opts) {
    opts = opts || {};
    var thead = el('thead', null, [el('tr', null, headers.map(function (h, i) {
      return el('th', { text: h, class: opts.numeric && opts.numeric[i] ? 'num' : '' });
    }))]);
    var tbody = el('tbody', null, rows.map(function (r) {
      var tr = el('tr', r.rowClass ? { class: r.rowClass } : null, r.cells.map(function (c, i) {
        var cls = (opts.numeric && opts.numeric[i] ? 'num ' : '') + (c && c.cls ? c.cls : '');
        var td = el('td', { class: cls.trim() });
        if (c && c.node) td.appendChild(c.node);
        else td.textContent = c && typeof c === 'object' ? c.text : c;
        if (c && c.title) td.title = c.title;
        return td;
      }));
      return tr;
    }));
    return el('div', { class: 'table-wrap' }, [el('table', opts.id ? { id: opts.id } : null, [thead, tbody])]);
  }
  function section(title, id, children, note) {
    return el('section', { id: id }, [el('h2', { text: title }), note ? el('p', { class: 'note', text: note }) : null].concat(children));
  }
  function badge(verdict) {
    var v = String(verdict || 'error').toLowerCase();
    return el('span', { class: 'badge ' + (v === 'pass' ? 'pass' : v === 'fail' ? 'fail' : v === 'not_run' ? 'not-run' : v === 'inconclusive' ? 'inconclusive' : 'error'), text: v.replace('_', ' ').toUpperCase() });
  }

  // Elements of the wrong shape become empty objects: a damaged document still renders.
  R = obj(R);
  var phases = arr(R.phases).map(obj);
  var series = arr(R.series).map(obj);
  var assertions = arr(R.assertions).map(obj);
  var scenario = obj(R.scenario);

  // ---------- header ----------
  var meta = [];
  if (scenario.file) meta.push('file ' + scenario.file);
  if (R.started_at) meta.push('started ' + R.started_at);
  if (isNum(R.duration_seconds)) meta.push('duration ' + sig(R.duration_seconds, 4) + ' s');
  if (R.faultline_version) meta.push('faultline ' + R.faultline_version);
  if (R.interrupted === true) meta.push('INTERRUPTED: partial results');
  if (R.partial === true) meta.push('PARTIAL: checkpoint as of ' + sig(R.as_of_seconds || 0, 4) + ' s, the run goes on');
  var nFail = assertions.filter(function (a) { return a.verdict === 'fail'; }).length;
  var nPass = assertions.filter(function (a) { return a.verdict === 'pass'; }).length;
  var nNotRun = assertions.filter(function (a) { return a.verdict === 'not_run'; }).length;
  var nInconclusive = assertions.filter(function (a) { return a.verdict === 'inconclusive'; }).length;
  var warnings = arr(R.warnings).filter(function (w) { return typeof w === 'string'; });
  var verdictText = R.verdict === 'pass' ? (nNotRun ? nPass + ' assertions held so far, ' + nNotRun + ' not run yet' : 'all ' + assertions.length + ' assertions held')
    : R.verdict === 'fail' ? nFail + ' of ' + assertions.length + ' assertions failed' + (nInconclusive ? ', ' + nInconclusive + ' inconclusive' : '')
    : R.verdict === 'interrupted' ? 'interrupted: ' + nNotRun + ' assertions not run; what ran ' + (R.completed_verdict === 'pass' ? 'passed' : 'failed') + (R.error ? ' (' + R.error + ')' : '')
    : 'the run ended in error' + (R.error ? ': ' + R.error : '');
  app.appendChild(el('header', { class: 'top' }, [
    el('div', { class: 'title-row' }, [
      el('h1', null, [el('span', { class: 'brand', text: 'faultline' }), ' ' + (scenario.name || 'scenario')]),
      badge(R.verdict)]),
    scenario.description ? el('p', { class: 'description', text: scenario.description }) : null,
    el('p', { class: 'meta', text: meta.join(' · ') }),
    el('p', { class: 'verdict-line ' + (R.verdict === 'pass' ? 'pass' : 'fail'), text: 'Verdict: ' + verdictText }),
    // Things the reader must know besides the verdict (a fault phase whose toxics injected nothing).
    warnings.length ? el('ul', { class: 'warnings', id: 'warnings' }, warnings.map(function (w) { return el('li', { text: 'Warning: ' + w }); })) : null
  ]));

  // ---------- verdicts ----------
  app.appendChild(section('Assertions', 'assertions', [
    assertions.length === 0 ? el('p', { class: 'empty', text: 'No assertions.' }) :
      table(['', 'Phase', 'Assertion', 'Kind', 'Measured', 'Bound', 'Detail'], assertions.map(function (a) {
        return {
          rowClass: a.verdict === 'pass' ? 'row-pass' : 'row-fail',
          cells: [{ node: badge(a.verdict) }, { text: a.phase || '–', cls: 'wrap' }, { text: a.name || a.kind || '', cls: 'strong' }, a.kind || '',
            { text: fmtMeasured(a), title: isNum(a.measured) ? String(a.measured) : '' }, { text: fmtAny(a.bound), cls: 'bound' }, { text: a.message || '', cls: 'message' }]
        };
      }), { id: 'assertion-table', numeric: [false, false, false, false, true, false, false] })
  ], nPass + ' passed, ' + nFail + ' failed' + (assertions.length - nPass - nFail ? ', ' + (assertions.length - nPass - nFail) + ' not evaluated' : '') + '.'));

  // ---------- charts ----------
  var chartsSection = section('Over time', 'charts', [], 'One point per second. Shaded bands are phases with a fault active; phase names along the top (a tick joins the name of a phase too narrow to hold it to its start).');
  app.appendChild(chartsSection);
  var legendPhases = el('div', { class: 'phase-legend' }, phases.map(function (p) {
    return el('span', { class: 'phase-chip' + (p.fault ? ' fault' : '') }, [
      el('i'), (p.name || '?') + ' ' + fmtT(p.start_seconds) + '–' + fmtT(p.end_seconds) + ' s']);
  }));
  chartsSection.appendChild(legendPhases);

  var xs = series.map(function (s) { return isNum(s.t) ? s.t : null; });
  function col(key, transform) {
    return series.map(function (s) {
      var v = s[key];
      if (!isNum(v)) return null;
      return transform ? transform(v) : v;
    });
  }

  // Phase names above the plotting area, in up to LABEL_MAX_ROWS rows (the chart's top padding
  // grows with them). A label starts at its phase's left edge (less, if it would leave the chart);
  // one that would overlap a label already placed goes up a row, or, when no row has room there,
  // moves sideways as little as it can, and a tick joins a label that does not sit inside its
  // phase's band to the band's edge. So a 2 s phase of a long run (a few pixels wide) still gets
  // its name; only a label with no room in any row is dropped (the phase chips above the charts
  // list every phase).
  var LABEL_FONT_PX = 11, LABEL_ROW_PX = 13, LABEL_MAX_ROWS = 3, LABEL_GAP_PX = 8;
  var measureCtx = null;
  function labelWidth(text) {
    if (!measureCtx) {
      measureCtx = document.createElement('canvas').getContext('2d');
      measureCtx.font = LABEL_FONT_PX + 'px system-ui, sans-serif';
    }
    return measureCtx.measureText(text).width;
  }
  // Label positions in CSS pixels from the plotting area's left edge, given the x of an instant
  // (xOf) and the plotting area's width. Each label goes where it overlaps no label already placed
  // in its row, as close as possible to its phase's left edge (+4 px), in the lowest row that
  // needs the least move; a label that fits in no row is dropped.
  function layoutLabels(xOf, width, maxRows) {
    var rowSpans = [], out = [];
    phases.forEach(function (p) {
      if (!isNum(p.start_seconds) || !isNum(p.end_seconds) || !p.name) return;
      var x0 = xOf(p.start_seconds), x1 = xOf(p.end_seconds);
      if (!isNum(x0) || !isNum(x1)) return;
      var left = Math.max(0, Math.min(x0, x1)), right = Math.min(width, Math.max(x0, x1));
      if (!(right > left)) return;
      var label = String(p.name), w = labelWidth(label);
      if (w > width) return;
      var want = Math.min(left + 4, width - w);
      var best = null;
      for (var r = 0; r < maxRows; r++) {
        var spans = rowSpans[r] || [];
        var free = function (x) {
          return x >= 0 && x + w <= width && spans.every(function (sp) { return x + w + LABEL_GAP_PX <= sp[0] || x >= sp[1] + LABEL_GAP_PX; });
        };
        var candidates = [want];
        spans.forEach(function (sp) { candidates.push(sp[1] + LABEL_GAP_PX, sp[0] - LABEL_GAP_PX - w); });
        candidates.forEach(function (x) {
          if (!free(x)) return;
          var move = Math.abs(x - want);
          if (!best || move < best.move) best = { row: r, x: x, move: move };
        });
        if (best && best.move === 0) break;
      }
      if (!best) return;
      (rowSpans[best.row] = rowSpans[best.row] || []).push([best.x, best.x + w]);
      out.push({ phase: p, label: label, x: best.x, w: w, left: left, row: best.row,
        inside: best.row === 0 && best.x === left + 4 && w + LABEL_GAP_PX < right - left });
    });
    return { labels: out, rows: Math.max(1, rowSpans.length) };
  }
  function xRange() {
    var lo = null, hi = null;
    xs.forEach(function (v) { if (v !== null) { lo = lo === null ? v : Math.min(lo, v); hi = hi === null ? v : Math.max(hi, v); } });
    return [lo, hi];
  }

  // Phase bands under the series, phase names over them. `box` gets data-phase-labels, the names
  // drawn (read by the Chromium test).
  function phasePlugin(box, state) {
    function band(u, p) {
      var x0 = u.valToPos(p.start_seconds, 'x', true), x1 = u.valToPos(p.end_seconds, 'x', true);
      var left = Math.max(u.bbox.left, Math.min(x0, x1)), right = Math.min(u.bbox.left + u.bbox.width, Math.max(x0, x1));
      return right > left ? [left, right] : null;
    }
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          phases.forEach(function (p) {
            if (!p.fault || !isNum(p.start_seconds) || !isNum(p.end_seconds)) return;
            var b = band(u, p);
            if (!b) return;
            ctx.fillStyle = 'rgba(220, 53, 69, 0.10)';
            ctx.fillRect(b[0], u.bbox.top, b[1] - b[0], u.bbox.height);
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx, dpr = devicePixelRatio;
          ctx.save();
          phases.forEach(function (p, i) {
            if (i === 0 || !isNum(p.start_seconds) || !isNum(p.end_seconds)) return;
            var b = band(u, p);
            if (!b) return;
            ctx.strokeStyle = 'rgba(90, 90, 110, 0.35)';
            ctx.setLineDash([4 * dpr, 4 * dpr]);
            ctx.beginPath();
            ctx.moveTo(Math.round(b[0]) + 0.5, u.bbox.top);
            ctx.lineTo(Math.round(b[0]) + 0.5, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.setLineDash([]);
          });
          var width = u.bbox.width / dpr;
          var layout = layoutLabels(function (t) { return u.valToPos(t, 'x'); }, width, state.rows);
          ctx.font = Math.round(LABEL_FONT_PX * dpr) + 'px system-ui, sans-serif';
          ctx.textBaseline = 'top';
          ctx.textAlign = 'left';  // uPlot leaves the y axis's 'right' set
          var drawn = [];
          layout.labels.forEach(function (l) {
            var color = l.phase.fault ? 'rgba(176, 32, 48, 0.9)' : 'rgba(70, 70, 90, 0.8)';
            // Above the plotting area (the chart has top padding for it), clear of the data.
            var y = u.bbox.top - (15 + LABEL_ROW_PX * l.row) * dpr;
            ctx.fillStyle = color;
            ctx.fillText(l.label, u.bbox.left + l.x * dpr, y);
            if (!l.inside) {
              // A tick from the label's row down to the plot at the phase's left edge.
              var tx = Math.round(u.bbox.left + l.left * dpr) + 0.5;
              ctx.strokeStyle = color;
              ctx.lineWidth = dpr;
              ctx.beginPath();
              var ty = y + (LABEL_FONT_PX + 1) * dpr;
              ctx.moveTo(tx, ty);
              ctx.lineTo(tx, u.bbox.top);
              // Joined to the label when it had to move away from the edge.
              var lx = u.bbox.left + l.x * dpr, rx = u.bbox.left + (l.x + l.w) * dpr;
              if (lx > tx) { ctx.moveTo(tx, ty); ctx.lineTo(lx, ty); }
              else if (rx < tx) { ctx.moveTo(rx, ty); ctx.lineTo(tx, ty); }
              ctx.stroke();
            }
            drawn.push(l.label);
          });
          box.setAttribute('data-phase-labels', drawn.join('|'));
          box.setAttribute('data-phase-label-rows', String(state.rows));
          ctx.restore();
        }]
      }
    };
  }
  // The chart's top padding: room for as many label rows as the layout needs at this width
  // (the plotting area is the chart's width less the y axis and the right padding).
  function topPadding(state, yAxisSize, rightPad) {
    return function (u) {
      var width = Math.max(1, (u.bbox && u.bbox.width ? u.bbox.width / devicePixelRatio : (u.width || state.width) - yAxisSize - rightPad));
      var r = xRange();
      var xOf = function (t) { return r[0] === null || r[1] === r[0] ? 0 : (t - r[0]) / (r[1] - r[0]) * width; };
      state.rows = layoutLabels(xOf, width, LABEL_MAX_ROWS).rows;
      return 20 + LABEL_ROW_PX * (state.rows - 1);
    };
  }

  var chartDefs = [
    {
      id: 'chart-throughput', title: 'Throughput', unit: 'requests/s',
      series: [{ label: 'throughput', key: 'throughput_rps', stroke: '#2f6fdf', fill: 'rgba(47,111,223,0.08)' }],
      fmt: function (v) { return sig(v, 3) + ' /s'; }, min: 0
    },
    {
      id: 'chart-errors', title: 'Error ratio', unit: 'failed / total',
      series: [{ label: 'error ratio', key: 'error_ratio', stroke: '#d6336c', fill: 'rgba(214,51,108,0.08)' }],
      fmt: fmtPct, min: 0, emptyMax: 0.01
    },
    {
      id: 'chart-latency', title: 'Latency (corrected for coordinated omission)', unit: 'seconds, log scale',
      series: [
        { label: 'p50', key: 'p50_seconds', stroke: '#2b8a3e' },
        { label: 'p99', key: 'p99_seconds', stroke: '#e8590c' }],
      fmt: fmtSeconds, log: true
    }
  ];
  // Process metrics of the components, one series per "<component>_rss_bytes" /
  // "<component>_open_fds" key the runner put into the series.
  function resourceKeys(suffix) {
    var keys = [];
    series.forEach(function (s) {
      Object.keys(s).forEach(function (k) {
        if (k.length > suffix.length && k.slice(-suffix.length) === suffix && keys.indexOf(k) < 0 && isNum(s[k])) keys.push(k);
      });
    });
    return keys.sort();
  }
  var palette = ['#7048e8', '#0c8599', '#e8590c', '#5c940d', '#c2255c', '#1971c2'];
  var rssKeys = resourceKeys('_rss_bytes');
  if (rssKeys.length) {
    chartDefs.push({
      id: 'chart-memory', title: 'Resident memory', unit: 'bytes, per component',
      series: rssKeys.map(function (k, i) { return { label: k.slice(0, -'_rss_bytes'.length), key: k, stroke: palette[i % palette.length] }; }),
      fmt: fmtBytesSI, min: 0
    });
  }
  var fdKeys = resourceKeys('_open_fds');
  if (fdKeys.length) {
    chartDefs.push({
      id: 'chart-fds', title: 'Open file descriptors', unit: 'per component',
      series: fdKeys.map(function (k, i) { return { label: k.slice(0, -'_open_fds'.length), key: k, stroke: palette[i % palette.length] }; }),
      fmt: function (v) { return sig(v, 4); }, min: 0
    });
  }

  function decades(u, splits) {
    return splits.map(function (v) { return Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9 ? v : null; });
  }

  var charts = [];
  var pendingCharts = [];
  var rendered = 0;
  var grid = el('div', { class: 'chart-grid' });
  chartsSection.appendChild(grid);
  chartDefs.forEach(function (def) {
    var box = el('div', { class: 'chart', id: def.id });
    var head = el('div', { class: 'chart-head' }, [el('h3', { text: def.title }), el('span', { class: 'unit', text: def.unit })]);
    var plotHost = el('div', { class: 'plot' });
    box.appendChild(head);
    box.appendChild(plotHost);
    grid.appendChild(box);

    var data = [xs];
    var points = 0;
    def.series.forEach(function (s) {
      // A log scale cannot show 0 or negative values: they are left out (gap), not faked.
      var c = col(s.key, def.log ? function (v) { return v > 0 ? v : null; } : null);
      points += c.filter(function (v) { return v !== null; }).length;
      data.push(c);
    });
    box.setAttribute('data-points', String(points));
    if (points === 0) {
      plotHost.appendChild(el('p', { class: 'empty', text: 'No data points for this chart.' }));
      return;
    }
    // Drawn once the whole page is built (pendingCharts, at the end): the grid's columns and the
    // page's scrollbar are then known, so each chart is created at its cell's width.
    pendingCharts.push(function () {
      var labelState = { rows: 1, width: Math.max(320, plotHost.clientWidth || 600) };
      var opts = {
        width: labelState.width,
        height: 240,
        padding: [topPadding(labelState, 70, 14), 14, 0, 0],
        plugins: [phasePlugin(box, labelState)],
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false }, y: def.log ? { distr: 3 } : { range: function (u, mn, mx) { return [def.min !== undefined ? Math.min(def.min, mn) : mn, mx > 0 ? mx * 1.1 : (def.emptyMax || 1)]; } } },
        axes: [
          { label: 'seconds since start', values: function (u, vals) { return vals.map(function (v) { return sig(v, 4); }); } },
          {
            size: 70,
            // On the log scale only label and grid the decades; 2..9 multiples clutter the chart.
            filter: def.log ? decades : undefined,
            grid: def.log ? { filter: decades } : {},
            ticks: def.log ? { filter: decades } : {},
            values: function (u, vals) { return vals.map(function (v) { return v === null ? '' : def.fmt(v); }); }
          }
        ],
        series: [{ label: 't', value: function (u, v) { return v === null ? '–' : sig(v, 4) + ' s'; } }].concat(def.series.map(function (s) {
          return { label: s.label, stroke: s.stroke, fill: s.fill, width: 1.5, spanGaps: false, points: { show: false },
            value: function (u, v) { return v === null ? '–' : def.fmt(v); } };
        }))
      };
      var plot = new uPlot(opts, data, plotHost);
      charts.push({ plot: plot, host: plotHost });
      rendered++;
    });
  });
  if (series.length === 0) chartsSection.appendChild(el('p', { class: 'empty', text: 'The run recorded no per-second series.' }));
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.plot.setSize({ width: Math.max(320, c.host.clientWidth), height: 240 }); });
  });

  // ---------- phases ----------
  app.appendChild(section('Phases', 'phases', [
    table(['Phase', 'Time', 'Fault', 'Requests', 'OK', 'Failed', 'Unsent', 'Error ratio', 'Throughput', 'p50', 'p90', 'p99', 'p99.9', 'Max', 'Mean', 'Apdex'],
      phases.map(function (p) {
        // Unsent: arrivals the open-model schedule never sent; they count as failed in the error ratio.
        var load = obj(p.load), req = obj(load.requests), sched = obj(load.schedule), lat = obj(load.latency_seconds), ap = obj(load.apdex);
        return {
          rowClass: p.fault ? 'row-fault' : '',
          cells: [{ text: p.name || '?', cls: 'strong' }, fmtT(p.start_seconds) + '–' + fmtT(p.end_seconds) + ' s',
            p.fault ? { text: 'yes', cls: 'fault-yes' } : 'no',
            fmtCount(req.total), fmtCount(req.ok), fmtCount(req.failed), fmtCount(sched.unsent), fmtPct(load.error_ratio),
            isNum(load.throughput_rps) ? sig(load.throughput_rps, 4) + ' /s' : 'n/a',
            fmtSeconds(lat.p50), fmtSeconds(lat.p90), fmtSeconds(lat.p99), fmtSeconds(lat.p999), fmtSeconds(lat.max), fmtSeconds(lat.mean),
            isNum(ap.score) ? ap.score.toFixed(3) : 'n/a']
        };
      }), { id: 'phase-table', numeric: [false, false, false, true, true, true, true, true, true, true, true, true, true, true, true, true] })
  ]));

  // ---------- apdex ----------
  function apdexRating(s) {
    return s >= 0.94 ? ['excellent', 'Excellent'] : s >= 0.85 ? ['good', 'Good'] : s >= 0.7 ? ['fair', 'Fair'] : s >= 0.5 ? ['poor', 'Poor'] : ['bad', 'Unacceptable'];
  }
  var apdexRows = phases.map(function (p) {
    var ap = obj(get(p, ['load', 'apdex']));
    var score = isNum(ap.score) ? ap.score : null;
    var rating = score === null ? ['none', 'n/a'] : apdexRating(score);
    var bar = el('div', { class: 'apdex-bar' }, [el('div', { class: 'apdex-fill ' + rating[0], style: 'width:' + (score === null ? 0 : Math.max(0, Math.min(1, score)) * 100) + '%' })]);
    return el('div', { class: 'apdex-row' }, [
      el('span', { class: 'apdex-phase', text: p.name || '?' }), bar,
      el('span', { class: 'apdex-score', text: score === null ? 'n/a' : score.toFixed(3) }),
      el('span', { class: 'apdex-rating ' + rating[0], text: rating[1] }),
      el('span', { class: 'apdex-t', text: isNum(ap.t_seconds) ? 'T = ' + fmtSeconds(ap.t_seconds) : '' })]);
  });
  app.appendChild(section('Apdex per phase', 'apdex', [el('div', { class: 'apdex' }, apdexRows)],
    'Apdex = (satisfied + tolerating / 2) / total, satisfied ≤ T, tolerating ≤ 4T, failed requests count as frustrated.'));

  // ---------- faults ----------
  var faultRows = [];
  phases.forEach(function (p) {
    Object.keys(obj(p.faults)).forEach(function (proxy) {
      var f = obj(p.faults[proxy]);
      var kinds = Object.keys(obj(f.by_kind)).map(function (k) { return k + ' ' + fmtCount(f.by_kind[k]); }).join(', ');
      faultRows.push({ rowClass: p.fault ? 'row-fault' : '', cells: [p.name || '?', { text: proxy, cls: 'strong' }, fmtCount(f.requests), fmtCount(f.faults_injected), fmtPct(f.fault_ratio), kinds || '–'] });
    });
  });
  var timelineRows = arr(R.timeline).map(obj).map(function (t) {
    return { cells: [isNum(t.at_seconds) ? fmtT(t.at_seconds) + ' s' : 'n/a', t.phase || '', { text: t.action || '', cls: 'mono' }] };
  });
  app.appendChild(section('Faults', 'faults', [
    faultRows.length ? table(['Phase', 'Proxy', 'Requests', 'Faults injected', 'Fault ratio', 'By kind'], faultRows, { id: 'fault-table', numeric: [false, false, true, true, true, false] })
      : el('p', { class: 'empty', text: 'No proxy counters in this run.' }),
    el('h3', { text: 'Timeline' }),
    timelineRows.length ? table(['At', 'Phase', 'Action'], timelineRows, { id: 'timeline-table', numeric: [true, false, false] })
      : el('p', { class: 'empty', text: 'No timeline actions.' })
  ], 'Counted by each proxy itself over the phase: the induced fault ratio that error amplification divides by.'));

  // ---------- shards, request names, components (only when present) ----------
  var shardRows = [];
  phases.forEach(function (p) {
    Object.keys(obj(p.shards)).forEach(function (shard) {
      var s = obj(p.shards[shard]);
      shardRows.push({ rowClass: p.fault ? 'row-fault' : '', cells: [p.name || '?', { text: shard, cls: 'strong' }, fmtCount(s.requests), fmtCount(s.errors), fmtPct(s.error_ratio), fmtSeconds(s.p99_seconds)] });
    });
  });
  if (shardRows.length) {
    app.appendChild(section('Shards', 'shards', [table(['Phase', 'Shard', 'Requests', 'Errors', 'Error ratio', 'p99'], shardRows, { id: 'shard-table', numeric: [false, false, true, true, true, true] })],
      "From the target's per-shard metrics."));
  }
  var nameRows = [];
  phases.forEach(function (p) {
    var byName = obj(get(p, ['load', 'requests_by_name']));
    Object.keys(byName).forEach(function (n) {
      var r = obj(byName[n]);
      nameRows.push({ rowClass: p.fault ? 'row-fault' : '', cells: [p.name || '?', { text: n, cls: 'strong' }, fmtCount(r.total), fmtCount(r.ok), fmtCount(r.failed), fmtPct(r.error_ratio), fmtSeconds(r.p99_seconds)] });
    });
  });
  if (nameRows.length) {
    app.appendChild(section('Requests by name', 'requests-by-name', [table(['Phase', 'Request', 'Total', 'OK', 'Failed', 'Error ratio', 'p99'], nameRows, { id: 'name-table', numeric: [false, false, true, true, true, true, true] })]));
  }
  var compRows = [];
  phases.forEach(function (p) {
    Object.keys(obj(p.components)).forEach(function (c) {
      var m = obj(p.components[c]);
      compRows.push({ cells: [p.name || '?', { text: c, cls: 'strong' }, fmtBytes(m.rss_bytes), isNum(m.open_fds) ? fmtCount(m.open_fds) : 'n/a'] });
    });
  });
  if (compRows.length) {
    app.appendChild(section('Components', 'components', [table(['Phase', 'Component', 'Resident memory', 'Open fds'], compRows, { id: 'component-table', numeric: [false, false, true, true] })],
      'Process metrics scraped at the end of each phase.'));
  }

  app.appendChild(el('footer', { text: 'Generated by faultline' + (R.faultline_version ? ' ' + R.faultline_version : '') + ' from results.json · charts by uPlot' }));

  pendingCharts.forEach(function (draw) { draw(); });

  // Read by the headless-Chromium test: how many charts were drawn, and with how many points.
  document.body.setAttribute('data-charts-rendered', String(rendered));
  document.body.setAttribute('data-report-ready', '1');
})();
