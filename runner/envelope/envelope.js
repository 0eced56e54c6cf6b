// faultline envelope report.html: draws the page from the envelope.json document embedded in
// script element #faultline-envelope, with the uPlot inlined at build time (no network).
// A heat map of the SLO margin over load x fault (interpolated between the trials),
// the boundary line, and every trial as a point (filled: the SLO held; cross: it failed).
// Once drawn, <body data-charts-rendered=N data-heat-cells=M> tell the tests what is on the page.
(function () {
  'use strict';

  var E = JSON.parse(document.getElementById('faultline-envelope').textContent);
  var app = document.getElementById('app');

  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
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
  function sig(v) { return isNum(v) ? String(Number(v.toPrecision(3))) : 'n/a'; }
  function table(head, rows) {
    return el('table', {}, [
      el('thead', {}, [el('tr', {}, head.map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', {}, rows.map(function (r) {
        return el('tr', {}, r.map(function (c) { return c instanceof Node ? el('td', {}, [c]) : el('td', { text: String(c) }); }));
      }))
    ]);
  }
  function section(title, children) {
    return el('section', {}, [el('h2', { text: title })].concat(children));
  }

  var fault = obj(E.fault), load = obj(E.load), scen = obj(E.scenario);
  var unit = fault.unit ? ' ' + fault.unit : '';
  var label = fault.proxy + '/' + fault.toxic + '.' + fault.attribute;
  var trials = arr(E.trials), boundary = arr(E.boundary);
  // How the trials' system was run: kept between trials (how many starts), or one per trial.
  function systemText(sys) {
    if (!isNum(sys.starts)) return '';
    if (sys.reused) return ' · system kept between trials, started ' + sys.starts + '×';
    return ' · a system per trial' + (sys.fresh_reason ? ' (' + sys.fresh_reason + ')' : '');
  }
  function trialSystem(t) {
    var sys = t.system;
    if (!sys || typeof sys !== 'object') return 'own';
    return '#' + sys.id + (sys.reused ? ' reused' : ' started') + (sys.stopped_after ? ', then stopped' : '');
  }

  app.appendChild(el('header', { class: 'top' }, [
    el('h1', {}, [el('span', { class: 'brand', text: 'faultline envelope' }), ' ' + (scen.name || '')]),
    el('p', { class: 'description', text: E.summary || '' }),
    el('p', { class: 'meta', text: 'SLO: ' + (E.slo_text || '') + ' · fault ' + label + ' ' + sig(fault.from) + '..' + sig(fault.to) + unit +
      ' · load ' + sig(load.from) + '..' + sig(load.to) + ' req/s · ' + trials.length + ' trials in ' + sig(E.spent_seconds) + ' s' +
      (E.budget_exhausted ? ' · budget exhausted' : '') + (E.interrupted ? ' · interrupted' : '') + systemText(obj(E.system)) }),
    el('p', { class: 'meta', text: E.command || '' })
  ]));

  // ---------- the heat map ----------
  function colour(m) {
    if (!isNum(m)) return 'rgba(150,150,150,0.35)';
    var x = Math.max(-1, Math.min(1, m));
    // Red (far outside) .. pale yellow (at the bound) .. green (far inside).
    if (x < 0) return 'rgba(201,42,42,' + (0.25 + 0.6 * -x) + ')';
    return 'rgba(43,138,62,' + (0.15 + 0.7 * x) + ')';
  }
  var pts = trials.filter(function (t) { return isNum(t.load) && isNum(t.fault); });
  // A little room on the load axis so the trials at its ends are not cut in half.
  var xmin = load.from, xmax = load.to;
  if (!(xmax > xmin)) { xmin = xmin * 0.9; xmax = xmax * 1.1 + 1; }
  var xpad = (xmax - xmin) * 0.03;
  xmin -= xpad; xmax += xpad;
  var ymin = fault.from, ymax = fault.to;
  var cells = 0;

  // The boundary as a line over the levels: "none" sits at the bottom, "whole_range" at the top.
  var bx = [], by = [], blo = [], bhi = [];
  boundary.forEach(function (b) {
    bx.push(b.load);
    var f = b.holds === 'none' ? ymin : b.holds === 'whole_range' ? ymax : b.fault;
    by.push(isNum(f) ? f : null);
    var band = arr(b.band);
    blo.push(band.length === 2 ? band[0] : null);
    bhi.push(band.length === 2 ? band[1] : null);
  });

  // The margin field: along the fault axis, linear between the trials of a load level (several
  // trials at one point are averaged); along the load axis, linear between neighbouring levels.
  var levels = {};
  pts.forEach(function (t) {
    var m = isNum(t.margin) ? t.margin : (t.pass ? 0 : -1);
    var lv = levels[t.load] || (levels[t.load] = {});
    (lv[t.fault] || (lv[t.fault] = [])).push(m);
  });
  var cols = Object.keys(levels).map(Number).sort(function (a, b) { return a - b; }).map(function (l) {
    var faults = Object.keys(levels[l]).map(Number).sort(function (a, b) { return a - b; });
    return { load: l, faults: faults, margins: faults.map(function (f) {
      var ms = levels[l][f];
      return ms.reduce(function (a, b) { return a + b; }, 0) / ms.length;
    }) };
  });
  function lerp(xs, ys, x) {
    if (x <= xs[0]) return ys[0];
    for (var i = 1; i < xs.length; i++)
      if (x <= xs[i]) return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
    return ys[ys.length - 1];
  }
  function marginAt(x, y) {
    var vals = cols.map(function (c) { return lerp(c.faults, c.margins, y); });
    return lerp(cols.map(function (c) { return c.load; }), vals, x);
  }
  function drawHeat(u) {
    if (cols.length === 0) return;
    var ctx = u.ctx, nx = 60, ny = 60;
    var sx = (xmax - xmin) || 1, sy = (ymax - ymin) || 1;
    cells = 0;
    ctx.save();
    for (var i = 0; i < nx; i++) {
      for (var j = 0; j < ny; j++) {
        var cx = xmin + (i + 0.5) * sx / nx, cy = ymin + (j + 0.5) * sy / ny;
        var x0 = u.valToPos(xmin + i * sx / nx, 'x', true), x1 = u.valToPos(xmin + (i + 1) * sx / nx, 'x', true);
        var y0 = u.valToPos(ymin + j * sy / ny, 'y', true), y1 = u.valToPos(ymin + (j + 1) * sy / ny, 'y', true);
        ctx.fillStyle = colour(marginAt(cx, cy));
        ctx.fillRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0) + 0.5, Math.abs(y1 - y0) + 0.5);
        cells++;
      }
    }
    ctx.restore();
  }
  function drawTrials(u) {
    var ctx = u.ctx, r = 4 * devicePixelRatio;
    ctx.save();
    ctx.lineWidth = 1.5 * devicePixelRatio;
    pts.forEach(function (t) {
      var x = u.valToPos(t.load, 'x', true), y = u.valToPos(t.fault, 'y', true);
      ctx.strokeStyle = t.pass ? '#1b5e20' : '#7f1010';
      ctx.beginPath();
      if (t.pass) { ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fillStyle = '#ffffff'; ctx.fill(); }
      else { ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); }
      ctx.stroke();
    });
    ctx.restore();
    document.body.setAttribute('data-heat-cells', String(cells));
  }

  var host = el('div', { class: 'plot' });
  var chartSection = section('SLO margin over load × fault', [
    el('p', { class: 'meta', text: 'Colour: the SLO margin (how far the measured value is inside (green) or outside (red) its bound, relative to the bound), interpolated between the trials of a load level and between levels. Line: the boundary per load level, dashed: its band. Circles: trials that held; crosses: trials that failed.' }),
    host
  ]);
  app.appendChild(chartSection);
  var rendered = 0;
  if (pts.length > 0 && bx.length > 0) {
    var opts = {
      width: Math.max(360, host.clientWidth || 800),
      height: 420,
      padding: [16, 16, 0, 0],
      scales: { x: { time: false, range: [xmin, xmax] }, y: { range: [ymin, ymax] } },
      axes: [
        { label: 'load (req/s)', values: function (u, v) { return v.map(sig); } },
        { label: label + (fault.unit ? ' (' + fault.unit + ')' : ''), size: 70, values: function (u, v) { return v.map(sig); } }
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      hooks: { drawClear: [drawHeat], draw: [drawTrials] },
      series: [
        { label: 'load' },
        { label: 'boundary', stroke: '#1d2330', width: 2.5, points: { show: true, size: 7 }, value: function (u, v) { return v === null ? '–' : sig(v) + unit; } },
        { label: 'band low', stroke: '#1d2330', width: 1, dash: [5, 4], points: { show: false } },
        { label: 'band high', stroke: '#1d2330', width: 1, dash: [5, 4], points: { show: false } }
      ]
    };
    new uPlot(opts, [bx, by, blo, bhi], host);
    rendered++;
  } else {
    host.appendChild(el('p', { class: 'empty', text: 'No trial completed.' }));
  }

  // ---------- tables ----------
  app.appendChild(section('Boundary per load level', [table(
    ['Load (req/s)', 'Holds', 'Boundary', 'Band', 'Trials', 'Complete', 'Not monotone (trials)'],
    boundary.map(function (b) {
      var band = arr(b.band);
      return [sig(b.load), b.holds === 'up_to' ? 'up to' : b.holds === 'none' ? 'none' : 'whole range',
        isNum(b.fault) ? sig(b.fault) + unit : 'null', band.length === 2 ? '[' + sig(band[0]) + ', ' + sig(band[1]) + ']' + unit : 'null',
        String(b.trials), b.complete ? 'yes' : 'no (budget)', arr(b.non_monotone_trials).join(', ') || '–'];
    }))]));
  app.appendChild(section('Trials', [table(
    ['#', 'Load', 'Fault', 'SLO', 'Margin', 'Measured', 'Seconds', 'System', 'Reproduce'],
    trials.map(function (t) {
      var measured = arr(t.verdicts).map(function (v) { return v.name + ': ' + sig(v.measured); }).join('; ');
      return [String(t.id), sig(t.load), sig(t.fault) + unit, el('span', { class: 'badge ' + (t.pass ? 'pass' : 'fail'), text: t.pass ? 'HOLDS' : 'FAILS' }),
        sig(t.margin), measured, sig(t.seconds),
        el('span', { title: (t.system && t.system.stopped_after) || '', text: trialSystem(t) }),
        el('code', { text: t.command || '' })];
    }))]));
  document.body.setAttribute('data-charts-rendered', String(rendered));
  if (rendered && !document.body.hasAttribute('data-heat-cells')) document.body.setAttribute('data-heat-cells', String(cells));
})();
