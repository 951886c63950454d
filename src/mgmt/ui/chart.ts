/**
 * A live line chart on uPlot: the page pushes one point per poll and the chart keeps the last
 * ten minutes. uPlot draws on a canvas and redraws only when data arrives, so a page with a few
 * charts costs nearly nothing between polls.
 */
import uPlot from "./vendor/uPlot.esm.js";
import { h } from "./dom.js";

/** One line: its label and colour. */
export interface SeriesSpec {
  label: string;
  color: string;
}

const WINDOW_SECONDS = 600;

export class LiveChart {
  readonly root: HTMLElement;
  private readonly data: number[][];
  private plot: uPlot | undefined;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    readonly title: string,
    private readonly series: readonly SeriesSpec[],
    private readonly formatValue: (value: number) => string,
  ) {
    this.data = [[], ...series.map(() => [])];
    this.root = h("figure", { class: "chart", "data-chart": title }, h("figcaption", {}, title));
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.root);
  }

  /** Adds a point (one value per series) at the current time. */
  push(values: readonly number[]): void {
    const now = Date.now() / 1000;
    this.data[0]!.push(now);
    values.forEach((value, i) => this.data[i + 1]!.push(value));
    while (this.data[0]!.length > 2 && this.data[0]![0]! < now - WINDOW_SECONDS) for (const column of this.data) column.shift();
    // What the chart shows last, readable from the page (and by the browser test).
    this.root.dataset.latest = values.join(",");
    this.root.dataset.points = String(this.data[0]!.length);
    if (this.plot === undefined) this.create();
    else this.plot.setData(this.data as uPlot.AlignedData);
    this.showWindow();
  }

  /** The time axis spans at least a minute, so the first points do not stretch over years. */
  private showWindow(): void {
    if (this.plot === undefined) return;
    const times = this.data[0]!;
    const last = times[times.length - 1]!;
    this.plot.setScale("x", { min: Math.min(times[0]!, last - 60), max: last });
  }

  /** The latest value of each series (what the test and the legend read). */
  latest(): number[] {
    return this.data.slice(1).map((column) => column[column.length - 1] ?? 0);
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.plot?.destroy();
  }

  private create(): void {
    const width = this.width();
    if (width === 0) return;
    const format = this.formatValue;
    this.plot = new uPlot(
      {
        width,
        height: 180,
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        scales: {
          y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, 1)] },
        },
        axes: [
          { stroke: "#8a94a6", grid: { stroke: "#e6e9ef" }, ticks: { stroke: "#e6e9ef" } },
          {
            stroke: "#8a94a6",
            grid: { stroke: "#e6e9ef" },
            ticks: { stroke: "#e6e9ef" },
            size: 60,
            values: (_u, ticks) => ticks.map(format),
            incrs: [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9],
          },
        ],
        series: [
          {},
          ...this.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            fill: `${s.color}1a`,
            value: (_u: uPlot, v: number | null) => (v === null ? "–" : format(v)),
          })),
        ],
      },
      this.data as uPlot.AlignedData,
      this.root,
    );
  }

  private width(): number {
    return Math.floor(this.root.clientWidth);
  }

  private resize(): void {
    const width = this.width();
    if (width === 0) return;
    if (this.plot === undefined) {
      if (this.data[0]!.length > 0) {
        this.create();
        this.showWindow();
      }
    } else if (Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: 180 });
  }
}
