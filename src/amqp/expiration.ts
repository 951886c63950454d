/**
 * The `expiration` property of basic content: a string of decimal milliseconds, read straight
 * from a content header's raw property section (no decoding of the other properties), and the
 * check RabbitMQ 3.10 makes of it at basic.publish, with its words.
 */
import { EXPIRATION, propertyAt } from "./raw-properties.js";

/** The longest TTL RabbitMQ accepts, in ms (ten years): its MAX_EXPIRY_TIMER. */
export const MAX_EXPIRY_MS = 315_360_000_000;

/** True when a raw property section carries an expiration: one byte test, for every publish. */
export function hasExpiration(raw: Buffer, start: number, end: number): boolean {
  return end > start + 1 && (raw[start]! & (EXPIRATION >>> 8)) !== 0;
}

/**
 * Where the expiration's bytes start in the property section buf[start, end), the property's
 * length byte before them; -1 when there is none or the section is too short to hold it.
 */
export function expirationAt(buf: Buffer, start: number, end: number): number {
  const p = propertyAt(buf, start, end, EXPIRATION);
  if (p < 0 || p + 1 + buf[p]! > end) return -1;
  return p + 1;
}

/**
 * The expiration in ms of the property section buf[start, end); -1 when it has none (or one
 * basic.publish would have refused: published messages were checked).
 */
export function expirationMs(buf: Buffer, start: number, end: number): number {
  const at = expirationAt(buf, start, end);
  if (at < 0) return -1;
  const value = parseDecimal(buf, at, at + buf[at - 1]!);
  return typeof value === "number" && value >= 0 && value <= MAX_EXPIRY_MS ? value : -1;
}

/** What parseDecimal found besides a number: no digits, or bytes after them (where they start). */
const NO_INTEGER = "no_integer";
type NotANumber = typeof NO_INTEGER | { leftoverAt: number };

/**
 * Erlang's string:to_integer on the bytes: an optional sign and digits, then nothing. Exact up
 * to 2^53; past MAX_EXPIRY_MS only the magnitude matters.
 */
function parseDecimal(buf: Buffer, start: number, end: number): number | NotANumber {
  let p = start;
  const negative = buf[p] === 0x2d;
  if (negative || buf[p] === 0x2b) p++;
  const digitsStart = p;
  let value = 0;
  while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) value = value * 10 + (buf[p++]! - 0x30);
  if (p === digitsStart) return NO_INTEGER;
  if (p < end) return { leftoverAt: p };
  return negative && value !== 0 ? -value : value;
}

/**
 * The explanation of RabbitMQ's 406 for a publish whose expiration (its raw bytes) is not a
 * TTL, or undefined when it is one: "invalid expiration 'abc': no_integer".
 */
export function expirationRefusal(value: Buffer): string | undefined {
  const parsed = parseDecimal(value, 0, value.length);
  // The bytes go back as they came; Erlang counts them as characters when it lays a term out.
  const prefix = `invalid expiration '${value.toString("latin1")}': `;
  let reason: string;
  if (parsed === NO_INTEGER) reason = NO_INTEGER;
  else if (typeof parsed !== "number") reason = erlangPair("leftover_string", erlangString(value.subarray(parsed.leftoverAt)), prefix.length);
  else if (parsed > MAX_EXPIRY_MS) reason = erlangPair("value_too_large", digitsOf(value), prefix.length);
  else if (parsed < 0) reason = erlangPair("value_negative", `-${digitsOf(value)}`, prefix.length);
  else return undefined;
  return Buffer.from(prefix + reason, "latin1").toString("utf8");
}

/** The digits of a parsed value, without sign and leading zeros ("0" for none): exact past 2^53. */
function digitsOf(value: Buffer): string {
  const digits = value.toString("latin1").replace(/^[+-]/, "").replace(/^0+/, "");
  return digits === "" ? "0" : digits;
}

/**
 * `{tag,value}` as Erlang's ~p lays it out starting at `column` of an 80-column line: on one line
 * when it ends before column 79, else broken after the comma, the value under the tag.
 */
function erlangPair(tag: string, value: string, column: number): string {
  const flat = `{${tag},${value}}`;
  if (column + flat.length <= 78) return flat;
  return `{${tag},\n${" ".repeat(column + 1)}${value}}`;
}

/** Bytes as Erlang's ~p prints a list of them: a quoted string when all are printable (Latin-1), else a list of integers. */
function erlangString(bytes: Buffer): string {
  const escapes: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\e", 34: '\\"', 92: "\\\\" };
  let text = '"';
  for (const b of bytes) {
    const escaped = escapes[b];
    if (escaped !== undefined) text += escaped;
    else if ((b >= 0x20 && b < 0x7f) || b >= 0xa0) text += String.fromCharCode(b);
    else return `[${[...bytes].join(",")}]`;
  }
  return `${text}"`;
}
