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

/** Accumulates families and their samples into one text body. */
export class TextWriter {
  private text = "";

  /**
   * Start a family: its TYPE and HELP lines (in RabbitMQ's order, TYPE first). `prefix` renames it
   * as /metrics/detailed does ("rabbitmq_" becomes "rabbitmq_detailed_").
   */
  family(family: MetricFamily, prefix?: string): void {
    const name = prefix === undefined ? family.name : prefix + family.name.slice("rabbitmq_".length);
    this.current = name;
    this.text += `# TYPE ${name} ${family.type}\n# HELP ${name} ${escapeHelp(family.help)}\n`;
  }

  /** A sample of the current family without labels. */
  value(value: number): void {
    this.text += `${this.current} ${formatValue(value)}\n`;
  }

  /** A sample of the current family with labels already rendered by `labels()`. */
  labelled(labels: string, value: number): void {
    this.text += `${this.current}{${labels}} ${formatValue(value)}\n`;
  }

  /** The body written so far. */
  toString(): string {
    return this.text;
  }

  private current = "";
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
