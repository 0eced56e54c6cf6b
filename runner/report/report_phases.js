// faultline report.html: the phase bands and phase names of the report's charts (a uPlot plugin
// and the chart's top padding), split from report.js, which is embedded after this file.
// FaultlinePhaseLabels(phases, xs, isNum) -> {phasePlugin(box, state), topPadding(state, yAxis,
// rightPad)}; `phases` are results.json's phases, `xs` the series' times.
var FaultlinePhaseLabels = function (phases, xs, isNum) {
  'use strict';

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

  return { phasePlugin: phasePlugin, topPadding: topPadding };
};
