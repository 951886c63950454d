import { Decimal, type FieldTable, type FieldValue } from "../../amqp/field-types.js";

export type MatchKind = "all" | "any" | "all-with-x" | "any-with-x";

/** A headers binding, prepared once at bind time. */
export interface HeadersPattern {
  kind: MatchKind;
  /** Keys to compare, with undefined standing for a void value (presence is enough). */
  entries: Array<[string, FieldValue | undefined]>;
}

/** The x-match value of binding arguments, or an error text for an invalid one (406 on bind). */
export function parseMatchKind(args: FieldTable): MatchKind | { error: string } {
  const v = args["x-match"];
  if (v === undefined) return "all";
  if (typeof v !== "string") return { error: `Invalid x-match field type; expected longstr` };
  if (v === "all" || v === "any" || v === "all-with-x" || v === "any-with-x") return v;
  return { error: `Invalid x-match field value <<"${v}">>; expected all, any, all-with-x, or any-with-x` };
}

export function compilePattern(args: FieldTable): HeadersPattern {
  const parsed = parseMatchKind(args);
  const kind = typeof parsed === "string" ? parsed : "all";
  const withX = kind === "all-with-x" || kind === "any-with-x";
  const entries: Array<[string, FieldValue | undefined]> = [];
  for (const key of Object.keys(args)) {
    // x-match is never compared; other x- arguments only with the -with-x kinds (RabbitMQ 3.10).
    if (key === "x-match" || (!withX && key.startsWith("x-"))) continue;
    const value = args[key]!;
    entries.push([key, value === null ? undefined : value]);
  }
  return { kind, entries };
}

/** Does a message's headers table match the pattern, as RabbitMQ's headers exchange decides. */
export function headersMatch(pattern: HeadersPattern, headers: FieldTable | undefined): boolean {
  const all = pattern.kind === "all" || pattern.kind === "all-with-x";
  const data = headers ?? {};
  for (const [key, expected] of pattern.entries) {
    const present = Object.prototype.hasOwnProperty.call(data, key);
    const ok = present && (expected === undefined || valuesEqual(expected, data[key]!));
    if (all && !ok) return false;
    if (!all && ok) return true;
  }
  // No entries: "all" matches everything, "any" matches nothing.
  return all;
}

/**
 * Erlang's == on decoded field values: numbers compare by value whatever their wire width
 * (1 == 1.0), strings and byte arrays compare as bytes, and nothing equals a value of another kind.
 */
export function valuesEqual(a: FieldValue, b: FieldValue): boolean {
  if (a === b) return true;
  const na = numeric(a);
  if (na !== undefined) {
    const nb = numeric(b);
    return nb !== undefined && na == nb;
  }
  if (typeof a === "string" || Buffer.isBuffer(a)) {
    if (typeof b !== "string" && !Buffer.isBuffer(b)) return false;
    return Buffer.from(a as string).equals(Buffer.from(b as string));
  }
  if (a instanceof Decimal) return b instanceof Decimal && a.scale === b.scale && a.value === b.value;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => valuesEqual(v, b[i]!));
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object" || Array.isArray(b)) return false;
  if (b instanceof Decimal || Buffer.isBuffer(b)) return false;
  const ta = a as FieldTable;
  const tb = b as FieldTable;
  const ka = Object.keys(ta);
  return ka.length === Object.keys(tb).length && ka.every((k) => k in tb && valuesEqual(ta[k]!, tb[k]!));
}

/** Integers, floats and timestamps (seconds, as on the wire) are all numbers to Erlang. */
function numeric(v: FieldValue): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  return undefined;
}
