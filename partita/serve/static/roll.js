/* A piano roll on a canvas: tracks in colours, bar lines and numbers, zoom, a playhead,
   and bar selection by dragging (for infill). Input: the "roll" JSON a job writes
   (partita.jobs.piano_roll): tpq, end, bars (start ticks), bar_seconds, tracks[{name, program,
   drum, notes: [[tick, duration, pitch, velocity], ...]}]. */
"use strict";

const ROLL_COLOURS = ["#3656d6", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#2e86ab", "#c2185b", "#558b2f"];
const RULER = 18;        // px of the bar-number ruler on top

class PianoRoll {
  constructor(canvas, scroller, onSelect) {
    this.canvas = canvas;
    this.scroller = scroller;
    this.onSelect = onSelect || (() => {});
    this.roll = null;
    this.pxPerTick = 0.05;
    this.selection = null;      // {first, last}: 0-based bar indices, inclusive
    this.playhead = null;       // seconds, or null
    this.drag = null;
    canvas.addEventListener("mousedown", (e) => this.down(e));
    window.addEventListener("mousemove", (e) => this.move(e));
    window.addEventListener("mouseup", (e) => this.up(e));
    window.addEventListener("resize", () => this.draw());
  }

  colour(i) { return ROLL_COLOURS[i % ROLL_COLOURS.length]; }

  setPiece(roll) {
    this.roll = roll;
    this.selection = null;
    this.playhead = null;
    const pitches = [];
    for (const t of roll.tracks) if (!t.drum) for (const n of t.notes) pitches.push(n[2]);
    const all = pitches.length ? pitches : roll.tracks.flatMap((t) => t.notes.map((n) => n[2]));
    this.low = Math.max(0, Math.min(...all, 127) - 2);
    this.high = Math.min(127, Math.max(...all, 0) + 2);
    if (this.high - this.low < 24) { const mid = (this.high + this.low) / 2; this.low = Math.max(0, Math.round(mid - 12)); this.high = this.low + 24; }
    this.fit();
  }

  end() { return Math.max(this.roll.end, this.barEnd(this.roll.bars.length - 1)); }
  barEnd(i) {
    const bars = this.roll.bars;
    return i + 1 < bars.length ? bars[i + 1] : bars[i] + (bars.length > 1 ? bars[i] - bars[i - 1] : this.roll.tpq * 4);
  }

  fit() {
    if (!this.roll) return;
    const width = Math.max(300, this.scroller.clientWidth - 2);
    this.pxPerTick = width / this.end();
    this.draw();
  }

  zoom(factor) {
    if (!this.roll) return;
    const centre = (this.scroller.scrollLeft + this.scroller.clientWidth / 2) / this.pxPerTick;
    this.pxPerTick = Math.min(2, Math.max(0.005, this.pxPerTick * factor));
    this.draw();
    this.scroller.scrollLeft = centre * this.pxPerTick - this.scroller.clientWidth / 2;
  }

  x(tick) { return tick * this.pxPerTick; }

  barAt(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    const tick = (clientX - rect.left) / this.pxPerTick;
    const bars = this.roll.bars;
    let i = 0;
    while (i + 1 < bars.length && bars[i + 1] <= tick) i++;
    return i;
  }

  down(e) {
    if (!this.roll || e.button !== 0) return;
    const bar = this.barAt(e.clientX);
    this.drag = {start: bar, moved: false};
    this.selection = {first: bar, last: bar};
    this.draw();
  }

  move(e) {
    if (!this.drag) return;
    const bar = this.barAt(e.clientX);
    if (bar !== this.drag.start) this.drag.moved = true;
    this.selection = {first: Math.min(bar, this.drag.start), last: Math.max(bar, this.drag.start)};
    this.draw();
  }

  up() {
    if (!this.drag) return;
    this.drag = null;
    this.onSelect(this.selection ? this.selection.first + 1 : null, this.selection ? this.selection.last + 1 : null);
  }

  clearSelection() { this.selection = null; this.draw(); this.onSelect(null, null); }

  /* seconds -> ticks through the bars' times (the tempo map, piecewise linear) */
  tickAt(seconds) {
    const bars = this.roll.bars, secs = this.roll.bar_seconds;
    let i = 0;
    while (i + 1 < secs.length && secs[i + 1] <= seconds) i++;
    const next = i + 1 < secs.length ? secs[i + 1] : null;
    const span = next !== null ? next - secs[i] : (secs.length > 1 ? secs[i] - secs[i - 1] : 2);
    return bars[i] + (seconds - secs[i]) / span * (this.barEnd(i) - bars[i]);
  }

  setPlayhead(seconds) {
    this.playhead = seconds;
    this.draw();
    if (seconds !== null && this.roll) {   // keep the playhead in view
      const px = this.x(this.tickAt(seconds));
      if (px < this.scroller.scrollLeft || px > this.scroller.scrollLeft + this.scroller.clientWidth - 20) {
        this.scroller.scrollLeft = px - 40;
      }
    }
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const width = this.roll ? Math.max(this.scroller.clientWidth - 2, Math.ceil(this.x(this.end())) + 1) : this.scroller.clientWidth - 2;
    const height = 300;
    c.style.width = width + "px"; c.style.height = height + "px";
    c.width = Math.round(width * dpr); c.height = Math.round(height * dpr);
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fbfbfd"; g.fillRect(0, 0, width, height);
    if (!this.roll) {
      g.fillStyle = "#98a2b3"; g.font = "13px system-ui, sans-serif";
      g.fillText("The piano roll of the piece appears here.", 16, 40);
      return;
    }
    const rows = this.high - this.low + 1, rowH = (height - RULER) / rows;
    const y = (pitch) => RULER + (this.high - pitch) * rowH;
    // black-key rows, C lines
    for (let p = this.low; p <= this.high; p++) {
      if ([1, 3, 6, 8, 10].includes(p % 12)) { g.fillStyle = "#f0f1f5"; g.fillRect(0, y(p), width, rowH); }
      if (p % 12 === 0) {
        g.fillStyle = "#d9dde5"; g.fillRect(0, y(p) + rowH - 0.5, width, 0.5);
        g.fillStyle = "#98a2b3"; g.font = "10px system-ui, sans-serif"; g.fillText("C" + (p / 12 - 1), 2, y(p) + rowH - 2);
      }
    }
    // selection
    if (this.selection) {
      const a = this.x(this.roll.bars[this.selection.first]), b = this.x(this.barEnd(this.selection.last));
      g.fillStyle = "rgba(54, 86, 214, 0.16)"; g.fillRect(a, 0, b - a, height);
      g.strokeStyle = "#3656d6"; g.lineWidth = 1.5; g.strokeRect(a + 0.75, 0.75, b - a - 1.5, height - 1.5);
    }
    // bar lines and numbers
    g.fillStyle = "#eef0f4"; g.fillRect(0, 0, width, RULER);
    g.font = "11px system-ui, sans-serif";
    const every = Math.max(1, Math.ceil(28 / Math.max(1, this.x(this.barEnd(0)))));   // numbers that fit
    this.roll.bars.forEach((tick, i) => {
      const bx = Math.round(this.x(tick)) + 0.5;
      g.strokeStyle = "#c3c8d2"; g.lineWidth = 1;
      g.beginPath(); g.moveTo(bx, 0); g.lineTo(bx, height); g.stroke();
      if (i % every === 0) { g.fillStyle = "#475467"; g.fillText(String(i + 1), bx + 3, 13); }
    });
    // notes
    this.roll.tracks.forEach((track, ti) => {
      g.fillStyle = track.drum ? "rgba(102, 112, 133, 0.55)" : this.colour(ti);
      for (const [tick, dur, pitch, vel] of track.notes) {
        if (pitch < this.low || pitch > this.high) continue;
        g.globalAlpha = track.drum ? 1 : 0.55 + 0.45 * vel / 127;
        g.fillRect(this.x(tick), y(pitch) + 0.5, Math.max(2, this.x(dur) - 1), Math.max(2, rowH - 1));
      }
      g.globalAlpha = 1;
    });
    // playhead
    if (this.playhead !== null) {
      const px = Math.round(this.x(this.tickAt(this.playhead))) + 0.5;
      g.strokeStyle = "#e4572e"; g.lineWidth = 2;
      g.beginPath(); g.moveTo(px, 0); g.lineTo(px, height); g.stroke();
    }
  }
}
window.PianoRoll = PianoRoll;
