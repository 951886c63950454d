/**
 * Prometheus's text exposition format (version 0.0.4), written by hand: a scrape of 10,000
 * queues is a few hundred thousand short strings, and a general-purpose client's registry of
 * objects per series would cost more than the walk over the broker that feeds it.
 */

/** The metric types rabbitmq_prometheus uses. */
export type MetricType = "counter" | "gauge" | "untyped";

/** One metric family: its name, type and HELP text, as RabbitMQ's plugin declares them. */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const SPACE = 0x20;
const NEWLINE = 0x0a;

/**
 * Writes families and their samples straight into one growing buffer of UTF-8: a per-object
 * scrape is a hundred thousand lines, and building them as strings (ropes, then one flattening)
 * costs several times more, mostly in the garbage collector.
 */
export class TextWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;
  /** The current family's name, encoded once for all its samples. */
  private current: Uint8Array = new Uint8Array(0);

  /**
   * Start a family: its TYPE and HELP lines (in RabbitMQ's order, TYPE first). `prefix` renames it
   * as /metrics/detailed does ("rabbitmq_" becomes "rabbitmq_detailed_").
   */
  family(family: MetricFamily, prefix?: string): void {
    const name = prefix === undefined ? family.name : prefix + family.name.slice("rabbitmq_".length);
    this.current = Buffer.from(name, "latin1");
    this.text(`# TYPE ${name} ${family.type}\n# HELP ${name} ${escapeHelp(family.help)}\n`);
  }

  /** A sample of the current family without labels. */
  value(value: number): void {
    this.bytes(this.current);
    this.byte(SPACE);
    this.number(value);
    this.byte(NEWLINE);
  }

  /**
   * A sample of the current family with labels rendered by `labels()` (encoded with `encodeLabels`
   * when one object's labels serve many families); `labelPrefix` goes before them (queue_vhost).
   */
  labelled(labels: string | Uint8Array, value: number, labelPrefix?: string): void {
    this.bytes(this.current);
    this.byte(OPEN);
    if (labelPrefix !== undefined) this.text(labelPrefix);
    if (typeof labels === "string") this.text(labels);
    else this.bytes(labels);
    this.byte(CLOSE);
    this.byte(SPACE);
    this.number(value);
    this.byte(NEWLINE);
  }

  /** The body written so far (a view of the writer's buffer). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  toString(): string {
    return this.buf.toString("utf8", 0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  private bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  private text(s: string): void {
    this.room(s.length * 3);
    this.at += this.buf.write(s, this.at, "utf8");
  }

  private number(value: number): void {
    const s = formatValue(value);
    this.room(s.length);
    this.at += this.buf.write(s, this.at, "latin1");
  }
}

/** One object's labels, encoded once for the many families that write them. */
export function encodeLabels(labels: string): Uint8Array {
  return Buffer.from(labels, "utf8");
}

/** `name="value",...` with values escaped as the format requires (backslash, double quote, newline). */
export function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = "";
  for (const [name, value] of pairs) {
    if (out !== "") out += ",";
    out += `${name}="${escapeLabel(value)}"`;
  }
  return out;
}

/** One label, rendered (the common case: a single label, or one to prepend to others). */
export function label(name: string, value: string): string {
  return `${name}="${escapeLabel(value)}"`;
}

const NEEDS_LABEL_ESCAPE = /[\\"\n]/;

export function escapeLabel(value: string): string {
  if (!NEEDS_LABEL_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Integers as integers, other numbers as JavaScript prints them; the format's spellings of the special values. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
