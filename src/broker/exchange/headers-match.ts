import { erlangTerm } from "../../amqp/erlang-term.js";
import {
  arrayTypes,
  Decimal,
  fieldTypeNameOf,
  NestedBytes,
  tableTypes,
  writtenTypeLetter,
  type FieldArray,
  type FieldTable,
  type FieldValue,
} from "../../amqp/field-types.js";
import { encodeName } from "../../amqp/name-bytes.js";

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
  if (typeof v !== "string") {
    const letter = tableTypes.get(args)?.["x-match"] ?? writtenTypeLetter(v);
    const before = `Invalid x-match field type ${fieldTypeNameOf(letter)} (value `;
    return { error: `${before}${erlangTerm(v, letter, before.length)}); expected longstr` };
  }
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
 * Arrays and tables are lists to Erlang: equal when their elements are, each with its wire type
 * (an array [int 1] is not [long 1], a table {a: 1, b: 2} not {b: 2, a: 1}), and an empty table
 * equals an empty array.
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
    // Two strings decoded from different bytes differ (the decoding is one-to-one): no encoding.
    if (typeof a === "string" && typeof b === "string") return false;
    return bytesOf(a).equals(bytesOf(b));
  }
  if (a instanceof Decimal) return b instanceof Decimal && a.scale === b.scale && a.value === b.value;
  // Values at the same depth of two tables are both bytes or both objects (DECODED_LEVELS).
  if (a instanceof NestedBytes) return b instanceof NestedBytes && a.type === b.type && a.bytes.equals(b.bytes);
  if (b instanceof NestedBytes) return false;
  if (isContainer(a) && isContainer(b)) {
    if (Array.isArray(a) !== Array.isArray(b)) return entryCount(a) === 0 && entryCount(b) === 0;
    if (Array.isArray(a)) return arraysEqual(a, b as FieldArray);
    return tablesEqual(a, b as FieldTable);
  }
  return false;
}

function arraysEqual(a: FieldArray, b: FieldArray): boolean {
  if (a.length !== b.length) return false;
  const ta = arrayTypes.get(a);
  const tb = arrayTypes.get(b);
  for (let i = 0; i < a.length; i++) {
    const [va, vb] = [a[i]!, b[i]!];
    if ((ta?.[i] ?? writtenTypeLetter(va)) !== (tb?.[i] ?? writtenTypeLetter(vb)) || !valuesEqual(va, vb)) return false;
  }
  return true;
}

function tablesEqual(a: FieldTable, b: FieldTable): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ta = tableTypes.get(a);
  const tb = tableTypes.get(b);
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i]!;
    if (key !== kb[i]) return false;
    const [va, vb] = [a[key]!, b[key]!];
    if ((ta?.[key] ?? writtenTypeLetter(va)) !== (tb?.[key] ?? writtenTypeLetter(vb)) || !valuesEqual(va, vb)) return false;
  }
  return true;
}

function isContainer(v: FieldValue): v is FieldArray | FieldTable {
  return typeof v === "object" && v !== null && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof Decimal) && !(v instanceof NestedBytes);
}

function entryCount(v: FieldArray | FieldTable): number {
  return Array.isArray(v) ? v.length : Object.keys(v).length;
}

/** A longstr's bytes: decoded strings keep bytes that are not UTF-8 (src/amqp/name-bytes.ts). */
function bytesOf(v: string | Buffer): Buffer {
  return typeof v === "string" ? encodeName(v) : v;
}

/** Integers, floats and timestamps (seconds, as on the wire) are all numbers to Erlang. */
function numeric(v: FieldValue): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  return undefined;
}
