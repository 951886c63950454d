/**
 * --plot FILE: an SVG chart of a run, one point per second. Top: messages per second (published,
 * confirmed, consumed). Bottom: end-to-end latency p50 and p99 of each second, on a log scale.
 * Hand-written SVG, no dependencies; it opens in any browser.
 */
import type { Sample } from "./load.js";

export interface PlotPhase {
  name: string;
  samples: Sample[];
}

const W = 960;
const PANEL_H = 250;
const LEFT = 80;
const RIGHT = 150;
const TOP = 50;
const GAP = 60;
const BOTTOM = 40;
const H = TOP + PANEL_H + GAP + PANEL_H + BOTTOM;
const PLOT_W = W - LEFT - RIGHT;

const COLORS = { published: "#1f77b4", confirmed: "#2ca02c", consumed: "#ff7f0e", p50: "#9467bd", p99: "#d62728" };

export function renderPlot(title: string, phases: PlotPhase[]): string {
  // One time axis: each phase continues where the previous one ended.
  type Point = Sample & { x: number };
  const byPhase: Point[][] = [];
  const boundaries: Array<{ x: number; name: string }> = [];
  let offset = 0;
  for (const phase of phases) {
    boundaries.push({ x: offset, name: phase.name });
    byPhase.push(phase.samples.map((s) => ({ ...s, x: offset + s.t })));
    offset += phase.samples.length > 0 ? phase.samples[phase.samples.length - 1]!.t : 0;
  }
  const points = byPhase.flat();
  /** One line per phase (none across a phase boundary), for the phases where the series is not all zero. */
  const lines = (pts: Point[][], get: (p: Point) => number, y: (v: number) => number, color: string) => {
    for (const list of pts)
      if (list.some((p) => get(p) > 0))
        line(
          out,
          list.map((p) => [sx(p.x), y(get(p))]),
          color,
        );
  };
  const xMax = Math.max(1, offset, ...points.map((p) => p.x));
  const sx = (x: number) => LEFT + (x / xMax) * PLOT_W;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`);

  // Rates, linear from 0.
  const rateTop = TOP;
  const rateMax = niceCeil(Math.max(1, ...points.flatMap((p) => [p.publishedPerSec, p.confirmedPerSec, p.consumedPerSec])));
  const sr = (v: number) => rateTop + PANEL_H - (v / rateMax) * PANEL_H;
  axes(out, rateTop, "messages / s");
  for (let i = 0; i <= 5; i++) {
    const v = (rateMax / 5) * i;
    gridY(out, sr(v), compact(v));
  }
  const rateSeries: Array<[keyof typeof COLORS, (p: Point) => number]> = [
    ["published", (p) => p.publishedPerSec],
    ["consumed", (p) => p.consumedPerSec],
  ];
  if (points.some((p) => p.confirmedPerSec > 0)) rateSeries.splice(1, 0, ["confirmed", (p) => p.confirmedPerSec]);
  rateSeries.forEach(([name, get], i) => {
    lines(byPhase, get, sr, COLORS[name]);
    legend(out, rateTop + 10 + i * 18, COLORS[name], name);
  });

  // Latency, log scale over the decades the data spans.
  const latTop = TOP + PANEL_H + GAP;
  const latByPhase = byPhase.map((list) => list.filter((p) => p.latency !== undefined));
  const lat = latByPhase.flat();
  axes(out, latTop, "latency, ms");
  if (lat.length > 0) {
    const values = lat.flatMap((p) => [p.latency!.p50, p.latency!.p99]).map((v) => Math.max(v, 0.001));
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
    const sl = (v: number) => latTop + PANEL_H - ((Math.log10(Math.max(v, 0.001)) - lo) / (hi - lo)) * PANEL_H;
    for (let d = lo; d <= hi; d++) {
      for (const m of d < hi ? [1, 2, 5] : [1]) gridY(out, sl(m * 10 ** d), `${+(m * 10 ** d).toPrecision(1)}`);
    }
    const latSeries: Array<[keyof typeof COLORS, (p: Point) => number]> = [
      ["p50", (p) => p.latency!.p50],
      ["p99", (p) => p.latency!.p99],
    ];
    latSeries.forEach(([name, get], i) => {
      lines(latByPhase, get, sl, COLORS[name]);
      legend(out, latTop + 10 + i * 18, COLORS[name], name);
    });
  } else {
    out.push(
      `<text x="${LEFT + PLOT_W / 2}" y="${latTop + PANEL_H / 2}" text-anchor="middle" fill="#888">no latency measured (bodies under 8 bytes, or no consumer)</text>`,
    );
  }

  // Time axis (shared) and phase boundaries.
  const step = niceCeil(xMax / 10);
  for (let x = 0; x <= xMax + 1e-9; x += step) {
    for (const top of [rateTop, latTop]) {
      out.push(`<line x1="${sx(x)}" y1="${top + PANEL_H}" x2="${sx(x)}" y2="${top + PANEL_H + 4}" stroke="#333"/>`);
    }
    out.push(`<text x="${sx(x)}" y="${latTop + PANEL_H + 18}" text-anchor="middle">${round(x)}</text>`);
  }
  out.push(`<text x="${LEFT + PLOT_W / 2}" y="${H - 6}" text-anchor="middle">seconds</text>`);
  if (boundaries.length > 1) {
    for (const b of boundaries) {
      out.push(`<line x1="${sx(b.x)}" y1="${TOP}" x2="${sx(b.x)}" y2="${latTop + PANEL_H}" stroke="#999" stroke-dasharray="4 4"/>`);
      out.push(`<text x="${sx(b.x) + 4}" y="${TOP - 6}" fill="#555">${esc(b.name)}</text>`);
    }
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function axes(out: string[], top: number, label: string): void {
  out.push(`<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${PANEL_H}" fill="none" stroke="#333"/>`);
  out.push(`<text transform="translate(18 ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`);
}

function gridY(out: string[], y: number, label: string): void {
  out.push(`<line x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT_W}" y2="${y}" stroke="#ddd"/>`);
  out.push(`<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${esc(label)}</text>`);
}

function line(out: string[], pts: Array<[number, number]>, color: string): void {
  if (pts.length === 0) return;
  const d = pts.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(1)} ${y.toFixed(1)}`).join(" ");
  out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
  if (pts.length === 1) out.push(`<circle cx="${pts[0]![0]}" cy="${pts[0]![1]}" r="3" fill="${color}"/>`);
}

function legend(out: string[], y: number, color: string, name: string): void {
  const x = LEFT + PLOT_W + 16;
  out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${color}" stroke-width="3"/>`);
  out.push(`<text x="${x + 30}" y="${y + 4}">${esc(name)}</text>`);
}

/** 1, 2 or 5 times a power of ten, at least v. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function compact(v: number): string {
  if (v >= 1e6) return `${round(v / 1e6)}M`;
  if (v >= 1e3) return `${round(v / 1e3)}k`;
  return `${round(v)}`;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
