/**
 * Reading Prometheus's text format in tests: a strict little parser (a line it does not
 * understand throws, so a malformed body fails the test), and fetching a scrape.
 */

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

/** Families by name, in the order they appear. A sample before its TYPE line throws. */
export function parseMetrics(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { type: "", help: "", samples: [] }));
    return f;
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped|summary|histogram)$/.exec(line);
    if (m) {
      family(m[1]!).type = m[2]!;
      continue;
    }
    m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      family(m[1]!).help = m[2]!.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${JSON.stringify(line)}`);
    // A summary's or histogram's samples carry a suffix after the family's name.
    const f = families.get(m[1]!) ?? families.get(m[1]!.replace(/_(count|sum|bucket)$/, ""));
    if (f === undefined || f.type === "") throw new Error(`sample before its TYPE line: ${line}`);
    f.samples.push({ labels: parseLabels(m[2] ?? ""), value: parseValue(m[3]!) });
  }
  return families;
}

function parseValue(text: string): number {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${text}`);
  return n;
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!m) throw new Error(`bad labels: ${text}`);
    i += m[0].length;
    let value = "";
    for (;;) {
      const c = text[i++];
      if (c === undefined) throw new Error(`unterminated label value: ${text}`);
      if (c === '"') break;
      if (c === "\\") {
        const e = text[i++];
        value += e === "n" ? "\n" : e;
      } else value += c;
    }
    out[m[1]!] = value;
    if (text[i] === ",") i++;
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels` (throws when there is not exactly one). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no family ${name}`);
  const matches = f.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${matches.length} samples`);
  return matches[0]!.value;
}

/** GET a scrape; the body as text, with the response. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ res: Response; text: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
  return { res, text: await res.text() };
}
