/**
 * Printing InfoValues as rabbitmqctl prints the Erlang terms they stand for: its Table formatter
 * (tab-separated, values as `format_info_item` shows them) and its JSON formatter (one object per
 * line between "[" and "]"). See RabbitMQ.CLI.Formatters.{Table,Json,FormatterHelpers}.
 */
import type { InfoValue, TableEntry, TableValue } from "../info-values.js";

// ---- Erlang terms ----

/** An Erlang float as ~p prints it: always with a fraction ("1.0"), exponents as "1.0e-7". */
export function erlangFloat(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  const s = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  return `${m[1]}${m[2]}.${m[3] ?? "0"}e${Number(m[4])}`;
}

/** A string as Erlang's ~tp prints a charlist: quoted and escaped, `[]` when empty. */
export function erlangString(s: string): string {
  if (s === "") return "[]";
  const escapes: Record<string, string> = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\b": "\\b",
    "\f": "\\f",
    "\x1b": "\\e",
  };
  let printable = true;
  let out = "";
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (escapes[ch] !== undefined) out += escapes[ch];
    else if (code < 32 || (code >= 127 && code < 160)) printable = false;
    else out += ch;
  }
  if (!printable) return `[${[...s].map((c) => c.codePointAt(0)).join(",")}]`;
  return `"${out}"`;
}

/** An atom as ~p prints it: bare when it can be, quoted otherwise. */
export function erlangAtom(a: string): string {
  if (/^[a-z][A-Za-z0-9_@]*$/.test(a) && !RESERVED.has(a)) return a;
  return `'${a.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

const RESERVED = new Set([
  "after",
  "and",
  "andalso",
  "band",
  "begin",
  "bnot",
  "bor",
  "bsl",
  "bsr",
  "bxor",
  "case",
  "catch",
  "cond",
  "div",
  "end",
  "fun",
  "if",
  "let",
  "not",
  "of",
  "or",
  "orelse",
  "receive",
  "rem",
  "try",
  "when",
  "xor",
]);

/**
 * One table value as ~tp prints the prettified AMQP value (typed by `type`). A loop with a stack
 * of what is left to print, not a call per level: a client's table may nest ~18,000 levels.
 */
function erlangTableValue(type: string, value: TableValue): string {
  const parts: string[] = [];
  const work: Array<string | [string, TableValue]> = [[type, value]];
  while (work.length > 0) {
    const item = work.pop()!;
    if (typeof item === "string") {
      parts.push(item);
      continue;
    }
    const [t, v] = item;
    if (t === "table" && Array.isArray(v)) {
      const entries = v as TableEntry[];
      work.push("]");
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, entryType, entryValue] = entries[i]!;
        work.push("}", [entryType, entryValue], `${i > 0 ? "," : ""}{${erlangString(key)},`);
      }
      parts.push("[");
    } else if (t === "array" && Array.isArray(v)) {
      const items = v as Array<[string, TableValue]>;
      work.push("]");
      for (let i = items.length - 1; i >= 0; i--) work.push(items[i]!, ...(i > 0 ? [","] : []));
      parts.push("[");
    } else {
      parts.push(scalarText(v));
    }
  }
  return parts.join("");
}

function scalarText(v: TableValue): string {
  if (v === null) return "undefined";
  if (typeof v === "string") return erlangString(v);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : erlangFloat(v);
  if (!Array.isArray(v)) return erlangFloat(v.float);
  return String(v);
}

/** An AMQP table as rabbitmqctl's table formatter prints it: [{"key",value},...]. */
export function erlangTable(entries: TableEntry[]): string {
  return erlangTableValue("table", entries);
}

/** A column value in rabbitmqctl's table format. */
export function tableCell(v: InfoValue): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return String(v);
  if ("float" in v) return erlangFloat(v.float);
  if ("table" in v) return erlangTable(v.table);
  if ("atoms" in v) return `[${v.atoms.join(", ")}]`;
  if ("pid" in v) return v.pid;
  if ("tuple" in v) return `{${v.tuple.join(",")}}`;
  if ("ip" in v) return v.ip;
  return `[${Object.entries(v.nodes)
    .map(([node, state]) => `{${erlangAtom(node)}, ${state}}`)
    .join(", ")}]`;
}

// ---- JSON ----

/**
 * JSON text, with floats written as floats ("1.0"), as Erlang's JSON encoder does. A loop with a
 * stack of what is left to write: a table value may nest ~18,000 levels.
 */
export function toJson(value: unknown): string {
  const parts: string[] = [];
  const work: unknown[] = [value];
  while (work.length > 0) {
    const v = work.pop();
    if (v instanceof Literal) parts.push(v.text);
    else if (v === null || v === undefined) parts.push("null");
    else if (typeof v === "string" || typeof v === "boolean") parts.push(JSON.stringify(v));
    else if (typeof v === "number") parts.push(Number.isFinite(v) ? String(v) : "null");
    else if (Array.isArray(v)) {
      work.push(CLOSE_ARRAY);
      for (let i = v.length - 1; i >= 0; i--) work.push(v[i], ...(i > 0 ? [COMMA] : []));
      parts.push("[");
    } else if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (Object.keys(o).length === 1 && typeof o.float === "number") {
        parts.push(erlangFloat(o.float));
        continue;
      }
      const entries = Object.entries(o);
      work.push(CLOSE_OBJECT);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i]!;
        work.push(x, new Literal(`${i > 0 ? "," : ""}${JSON.stringify(k)}:`));
      }
      parts.push("{");
    } else parts.push(JSON.stringify(String(v)));
  }
  return parts.join("");
}

/** Text toJson writes as it is (punctuation between the values it still has to write). */
class Literal {
  constructor(readonly text: string) {}
}
const COMMA = new Literal(",");
const CLOSE_ARRAY = new Literal("]");
const CLOSE_OBJECT = new Literal("}");

/** The entries are what rabbitmqctl's JSON shows already: [key, type, value], an array's items [type, value]. */
function jsonTable(entries: TableEntry[]): unknown {
  return entries;
}

/** A column value as rabbitmqctl's JSON formatter writes it. */
export function jsonCell(v: InfoValue): unknown {
  if (typeof v !== "object") return v;
  if ("float" in v) return v;
  if ("table" in v) return jsonTable(v.table);
  if ("atoms" in v) return v.atoms;
  if ("pid" in v) return pidJson(v.pid);
  if ("tuple" in v) return v.tuple;
  if ("ip" in v) return ipJson(v.ip);
  return v.nodes;
}

/** An address as the Erlang tuple JSON shows: [127,0,0,1], or eight integers for IPv6. */
function ipJson(ip: string): unknown {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.split(".").map(Number);
  if (!ip.includes(":")) return ip;
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const parts = (s: string | undefined) => (s === undefined || s === "" ? [] : s.split(":").map((h) => parseInt(h, 16)));
  const left = parts(head);
  const right = parts(tail);
  return [...left, ...Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
}

// ---- listings ----

export interface ListingStyle {
  json: boolean;
  /** Print the header line (not with --no-table-headers or --silent). */
  headers: boolean;
  /**
   * How rabbitmqctl prints an empty result: commands that stream (list_queues, ...) print
   * nothing, or "[" "]" in JSON; commands answered in one piece (list_users, list_permissions,
   * ...) print an empty line, or "[]".
   */
  streamed: boolean;
}

/** The output lines of a list command. */
export function listingLines(keys: readonly string[], rows: readonly InfoValue[][], style: ListingStyle): string[] {
  if (style.json) {
    if (rows.length === 0 && !style.streamed) return ["[]"];
    const objects = rows.map((row, i) => (i === 0 ? "" : ",") + `{${keys.map((k, j) => `${JSON.stringify(k)}:${toJson(jsonCell(row[j]!))}`).join(",")}}`);
    return ["[", ...objects, "]"];
  }
  if (rows.length === 0) return style.streamed ? [] : [""];
  const lines = rows.map((row) => row.map(tableCell).join("\t"));
  return style.headers ? [keys.join("\t"), ...lines] : lines;
}

/** The JSON form rabbitmqctl gives a pid: "#PID<a.b.c>". */
function pidJson(pid: string): string {
  const m = /\.(\d+)\.(\d+)\.(\d+)>$/.exec(pid);
  return m === null ? pid : `#PID<${m[1]}.${m[2]}.${m[3]}>`;
}
