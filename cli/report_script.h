// The script of the HTML report (report_html.cpp): it draws the memory timeline and the segment
// map into the page's empty <svg> elements from the JSON island #tally-data, so the elements it
// makes (the tag-area paths, the peak-marker line) exist only once it has run. Plain DOM calls,
// no library, no network. Drag across the timeline to zoom in, double-click to zoom out.
#pragma once

#include <string_view>

namespace tally::cli {

inline constexpr std::string_view kReportScript = R"JS(
(() => {
  const data = JSON.parse(document.getElementById('tally-data').textContent);
  const timeline = document.getElementById('timeline');
  const NS = timeline.namespaceURI;
  const add = (parent, name, attrs, text) => {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  };
  const fmt = (b) => {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; ++i; }
    return i ? b.toFixed(2) + ' ' + units[i] : b + ' B';
  };

  const W = 1000, H = 340, L = 80, R = 14, T = 14, B = 36;
  const pts = data.points, n = Math.max(data.events, 1), tags = data.tags;
  const total = (p) => p.slice(3).reduce((s, v) => s + v, 0);
  const top = Math.max(1, ...pts.map((p) => Math.max(p[2], total(p)))) * 1.06;
  const y = (v) => T + (H - T - B) * (1 - v / top);
  let from = 0, to = n;  // the event range shown
  const x = (i) => L + (W - L - R) * (i - from) / (to - from);
  const next = (k) => x(k + 1 < pts.length ? pts[k + 1][0] : n);
  let cursor, selection;

  const draw = () => {
    timeline.replaceChildren();
    const clip = add(add(timeline, 'defs', {}), 'clipPath', {id: 'plot-clip'});
    add(clip, 'rect', {x: L, y: 0, width: W - L - R, height: H - B});
    for (let k = 0; k <= 4; ++k) {
      const v = top / 1.06 * k / 4, i = Math.round(from + (to - from) * k / 4);
      add(timeline, 'line', {class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v)});
      add(timeline, 'text', {class: 'axis', x: L - 6, y: y(v) + 4, 'text-anchor': 'end'},
          fmt(Math.round(v)));
      add(timeline, 'text',
          {class: 'axis', x: x(i), y: H - B + 15, 'text-anchor': k === 4 ? 'end' : 'middle'},
          String(i));
    }
    add(timeline, 'text', {class: 'axis', x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle'},
        'allocator events on ' + data.device + ' (' + data.events + ')' +
        (to - from < n
             ? ', events ' + from + '-' + (to - 1) + ' shown: double-click to zoom out'
             : ''));
    const plot = add(timeline, 'g', {'clip-path': 'url(#plot-clip)'});
    for (const [phase, a, b] of data.phases) {
      const band = add(plot, 'rect', {class: 'phase phase-' + phase, x: x(a), y: T,
                                      width: Math.max(x(b) - x(a), 0.5), height: H - T - B});
      add(band, 'title', {}, phase + ': events ' + a + '-' + (b - 1));
    }
    const lower = pts.map(() => 0);
    tags.forEach((tag, j) => {
      let d = 'M' + x(pts[0][0]) + ',' + y(lower[0]);
      pts.forEach((p, k) => {
        const v = lower[k] + p[3 + j];
        d += 'L' + x(p[0]) + ',' + y(v) + 'L' + next(k) + ',' + y(v);
      });
      for (let k = pts.length - 1; k >= 0; --k) {
        d += 'L' + next(k) + ',' + y(lower[k]) + 'L' + x(pts[k][0]) + ',' + y(lower[k]);
        lower[k] += pts[k][3 + j];
      }
      add(add(plot, 'path', {class: 'tag-area tag-' + tag, d: d + 'Z'}), 'title', {}, tag);
    });
    if (pts.length) {
      let d = '';
      pts.forEach((p, k) => {
        d += (k ? 'L' : 'M') + x(p[0]) + ',' + y(p[2]) + 'L' + next(k) + ',' + y(p[2]);
      });
      add(plot, 'path', {class: 'reserved-line', d});
    }
    if (data.peak && data.peak.index >= from && data.peak.index < to) {
      const px = x(data.peak.index), right = px > (L + W) / 2;
      add(plot, 'line',
          {id: 'peak-marker', class: 'peak-marker', x1: px, x2: px, y1: T, y2: H - B});
      add(timeline, 'text', {id: 'peak-label', class: 'peak-label', x: px + (right ? -6 : 6),
                             y: T + 12, 'text-anchor': right ? 'end' : 'start'},
          'peak ' + fmt(data.peak.allocated) + ' (' + data.peak.phase + ')');
    }
    cursor = add(timeline, 'line', {class: 'cursor', x1: -10, x2: -10, y1: T, y2: H - B});
    selection = add(timeline, 'rect',
                    {class: 'selection', x: 0, y: T, width: 0, height: H - T - B});
  };
  draw();

  const readout = document.getElementById('readout');
  const eventAt = (ev) => {
    const box = timeline.getBoundingClientRect();
    const at = from + ((ev.clientX - box.left) * W / box.width - L) / (W - L - R) * (to - from);
    return Math.min(Math.max(at, from), to);
  };
  let dragStart = null;
  timeline.addEventListener('mousedown', (ev) => { dragStart = eventAt(ev); ev.preventDefault(); });
  window.addEventListener('mouseup', (ev) => {
    if (dragStart === null) return;
    const end = eventAt(ev);
    const a = Math.floor(Math.min(dragStart, end)), b = Math.ceil(Math.max(dragStart, end));
    dragStart = null;
    selection.setAttribute('width', 0);
    if (b - a >= 2 && b - a < to - from) { from = a; to = b; draw(); }
  });
  timeline.addEventListener('dblclick', () => { from = 0; to = n; draw(); });
  timeline.addEventListener('mousemove', (ev) => {
    const at = eventAt(ev);
    if (dragStart !== null) {
      selection.setAttribute('x', x(Math.min(dragStart, at)));
      selection.setAttribute('width', Math.abs(x(at) - x(dragStart)));
    }
    let lo = 0, hi = pts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (pts[mid][0] <= at) lo = mid; else hi = mid - 1;
    }
    const p = pts[lo];
    if (!p) return;
    cursor.setAttribute('x1', x(p[0]));
    cursor.setAttribute('x2', x(p[0]));
    readout.textContent = 'event ' + p[0] + ' at ' + (p[1] / 1e6).toFixed(3) + ' ms: allocated ' +
        fmt(total(p)) + ', reserved ' + fmt(p[2]) +
        tags.map((t, j) => p[3 + j] ? ', ' + t + ' ' + fmt(p[3 + j]) : '').join('');
  });

  const map = document.getElementById('segments');
  const rowH = 20, label = 190, width = W - label - R;
  const segs = data.segments;
  const largest = Math.max(1, ...segs.map((s) => s[1]));
  map.setAttribute('viewBox', '0 0 ' + W + ' ' + Math.max(rowH, segs.length * rowH + 4));
  segs.forEach(([address, size, live], r) => {
    const row = 2 + r * rowH;
    add(map, 'text', {class: 'axis', x: 0, y: row + 12},
        fmt(size) + ', ' + Math.round(100 * live / size) + '% live');
    const bar = add(map, 'rect', {class: 'segment', x: label, y: row,
                                  width: width * size / largest, height: rowH - 5});
    add(bar, 'title', {}, 'segment ' + address + ', ' + fmt(size) + ', ' + fmt(live) + ' live');
  });
  for (const [si, offset, size, tag, scope] of data.blocks) {
    const segSize = segs[si][1], w = width * segSize / largest;
    const block = add(map, 'rect', {class: 'block tag-' + tag, x: label + w * offset / segSize,
                                    y: 2 + si * rowH, width: Math.max(w * size / segSize, 0.6),
                                    height: rowH - 5});
    add(block, 'title', {}, fmt(size) + ' ' + tag + ' in ' + data.scopes[scope] + ' at +' + offset);
  }
  document.getElementById('segments-note').textContent =
      !data.peak ? 'No allocations on this device, so no peak and no segment map.'
      : segs.length ? segs.length + ' of ' + data.segments_total +
                      ' segments live at the peak, bars to scale, blocks coloured by tag'
      : 'No segment is live at the peak in this trace (imported logs, such as RMM\'s, ' +
        'record none).';
})();
)JS";

}  // namespace tally::cli
