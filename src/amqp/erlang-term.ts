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
} from "./field-types.js";
import { erlangBinary } from "./frame-text.js";
import { encodeName } from "./name-bytes.js";
import { nestedErlangText } from "./nested-bytes.js";

/** Erlang's line length for ~tp: a term that does not fit is broken over lines. */
const LINE_LENGTH = 80;

/** A term to print: an atom, number or binary as text, or a list or tuple of terms. */
type Term = string | { open: "[" | "{"; items: Term[] };

/**
 * How RabbitMQ prints a decoded field value with Erlang's ~tp in an error text: integers as they
 * are, floats in Erlang's shortest form (1.0, 1.0e20), longstrs and byte arrays as binaries
 * (<<"abc">>), void as `undefined`, a decimal as {Scale,Value}, an array as a list of
 * {Type,Value} and a table as a list of {Key,Type,Value}. `letter` is the value's wire type;
 * `column` is where the term starts in its line of text: a list that does not fit in the line
 * (with `trailing` more characters after it) gets one element per line, indented under its first
 * (the common case of Erlang's layout).
 */
export function erlangTerm(value: FieldValue, letter: string = writtenTypeLetter(value), column = 0, trailing = 0): string {
  return layout(term(value, letter), column, trailing);
}

function term(value: FieldValue, letter: string): Term {
  // Too deep to walk by recursion: printed on one line, as the value's end is cut off anyway.
  if (value instanceof NestedBytes) return nestedErlangText(value, (v, t) => flat(term(v, t)));
  switch (letter) {
    case "f":
    case "d":
      return erlangFloat(value as number);
    case "S":
      return erlangBinary(encodeName(value as string));
    case "x":
      return erlangBinary(value as Buffer);
    case "T":
      return String(Math.floor((value as Date).getTime() / 1000));
    case "V":
      return "undefined";
    case "D": {
      const d = value as Decimal;
      return { open: "{", items: [String(d.scale), String(d.value)] };
    }
    case "A": {
      const array = value as FieldArray;
      const types = arrayTypes.get(array);
      const items = array.map((v, i): Term => {
        const t = types?.[i] ?? writtenTypeLetter(v);
        return { open: "{", items: [fieldTypeNameOf(t), term(v, t)] };
      });
      return { open: "[", items };
    }
    case "F": {
      const table = value as FieldTable;
      const types = tableTypes.get(table);
      const items = Object.keys(table).map((key): Term => {
        const v = table[key]!;
        const t = types?.[key] ?? writtenTypeLetter(v);
        return { open: "{", items: [erlangBinary(encodeName(key)), fieldTypeNameOf(t), term(v, t)] };
      });
      return { open: "[", items };
    }
    default:
      return String(value); // booleans and integers (bigint included)
  }
}

const closing = (t: Exclude<Term, string>) => (t.open === "[" ? "]" : "}");

function flat(t: Term): string {
  return typeof t === "string" ? t : `${t.open}${t.items.map(flat).join(",")}${closing(t)}`;
}

/** `t` printed from `column`, with `after` characters (closing brackets, a comma) to follow it on its last line. */
function layout(t: Term, column: number, after: number): string {
  const one = flat(t);
  if (typeof t === "string" || t.open === "{" || t.items.length < 2 || column + one.length + after <= LINE_LENGTH) return one;
  const inner = column + 1;
  const last = t.items.length - 1;
  const lines = t.items.map((item, i) => layout(item, inner, i === last ? after + 1 : 1));
  return `${t.open}${lines.join(`,\n${" ".repeat(inner)}`)}${closing(t)}`;
}

/**
 * Erlang's shortest float text: the fewest digits that read back as the same float, written
 * plain (123.0, 0.001) or with an exponent (1.0e20, 1.2e-4), whichever is shorter; plain on a tie.
 */
export function erlangFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x); // not on the wire from RabbitMQ's decoder
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  const scientific = `${digits[0]}.${digits.slice(1) || "0"}e${e}`;
  let plain: string;
  if (e >= 0) {
    const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
    plain = `${whole}.${digits.slice(e + 1) || "0"}`;
  } else {
    plain = `0.${"0".repeat(-e - 1)}${digits}`;
  }
  return sign + (plain.length <= scientific.length ? plain : scientific);
}
