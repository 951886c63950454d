import { erlangFloat } from "../amqp/erlang-term.js";

/**
 * A JSON number written with a fraction or an exponent ("1000.0", "1e3"). RabbitMQ's JSON decoder
 * makes those Erlang floats, which no integer setting accepts ("1.0e3 is not a valid message
 * TTL"); JSON.parse would make them integers. Kept apart so the two are told apart.
 */
export class JsonFloat {
  constructor(readonly value: number) {}
}

/** A decoded JSON value, as RabbitMQ's decoder sees it: integers as numbers, floats as JsonFloat. */
export type JsonTerm = string | number | boolean | null | JsonFloat | JsonTerm[] | { [key: string]: JsonTerm };

/** Text that is not one JSON document: RabbitMQ's decoder fails with badarg. */
export class JsonTermError extends Error {}

/**
 * Decode JSON text keeping integers and floats apart. Duplicate keys: the last one wins, as with
 * RabbitMQ's decoder.
 */
export function parseJsonTerm(text: string): JsonTerm {
  try {
    JSON.parse(text); // the grammar is JSON.parse's; the walk below reads only valid JSON
  } catch {
    throw new JsonTermError("JSON decoding error. Reason: badarg");
  }
  // A loop with its own stack, not recursion: an administrator's JSON may nest a hundred thousand levels.
  const r: Reader = { text, pos: 0 };
  const open: OpenContainer[] = [];
  for (;;) {
    skipSpace(r);
    let value: JsonTerm;
    const c = r.text[r.pos]!;
    if (c === "{" || c === "[") {
      r.pos++;
      skipSpace(r);
      if (r.text[r.pos] === (c === "{" ? "}" : "]")) {
        r.pos++;
        value = c === "{" ? {} : [];
      } else {
        open.push(c === "{" ? { object: {}, key: readKey(r) } : { array: [] });
        continue;
      }
    } else {
      value = readScalar(r);
    }
    // Put the value in its container; a container that ends here is the value for the one around it.
    for (;;) {
      const top = open.at(-1);
      if (top === undefined) return value;
      if ("array" in top) top.array.push(value);
      // Own property even for "__proto__": a definition is data, never a prototype.
      else Object.defineProperty(top.object, top.key, { value, enumerable: true, writable: true, configurable: true });
      skipSpace(r);
      if (r.text[r.pos++] === ",") {
        if ("object" in top) top.key = readKey(r);
        break;
      }
      open.pop();
      value = "array" in top ? top.array : top.object;
    }
  }
}

/** An array or object being read, and for an object the key of the value read next. */
type OpenContainer = { array: JsonTerm[] } | { object: { [key: string]: JsonTerm }; key: string };

interface Reader {
  text: string;
  pos: number;
}

function skipSpace(r: Reader): void {
  while (r.pos < r.text.length && " \t\n\r".includes(r.text[r.pos]!)) r.pos++;
}

/** An object's key and the colon after it. */
function readKey(r: Reader): string {
  skipSpace(r);
  const key = readString(r);
  skipSpace(r);
  r.pos++; // ':'
  return key;
}

function readScalar(r: Reader): JsonTerm {
  if (r.text[r.pos] === '"') return readString(r);
  for (const [word, value] of [
    ["true", true],
    ["false", false],
    ["null", null],
  ] as const) {
    if (r.text.startsWith(word, r.pos)) {
      r.pos += word.length;
      return value;
    }
  }
  const start = r.pos;
  while (r.pos < r.text.length && "+-0123456789.eE".includes(r.text[r.pos]!)) r.pos++;
  const literal = r.text.slice(start, r.pos);
  const n = Number(literal);
  return /[.eE]/.test(literal) ? new JsonFloat(n) : n;
}

function readString(r: Reader): string {
  const start = r.pos;
  r.pos++;
  while (r.text[r.pos] !== '"') r.pos += r.text[r.pos] === "\\" ? 2 : 1;
  r.pos++;
  return JSON.parse(r.text.slice(start, r.pos)) as string;
}

/** A JSON object (not an array, not null). */
export function isJsonObject(v: JsonTerm): v is { [key: string]: JsonTerm } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonFloat);
}

/** An Erlang binary as ~p prints it: <<"text">> (the text's UTF-8 bytes, as the decoder keeps them). */
function erlangString(s: string): string {
  return `<<${JSON.stringify(s)}>>`;
}

/** How a decoded JSON value is written out: scalars, lists, maps. */
export interface JsonNotation {
  scalar(v: string | number | boolean | null | JsonFloat): string;
  list: { open: string; close: string; separator: string };
  map: { open: string; close: string; separator: string; sortKeys: boolean };
  /** What comes before a map entry's value: the key and the arrow. */
  key(k: string): string;
}

/**
 * `v` written in `notation`. A loop with its own stack, not recursion: a value nested a hundred
 * thousand levels deep (an administrator's JSON, echoed in a validation text) is written whole.
 */
export function writeJson(v: JsonTerm, notation: JsonNotation): string {
  const out: string[] = [];
  const open: Array<{ values: JsonTerm[]; keys: string[] | undefined; next: number; close: string; separator: string }> = [];
  let value: JsonTerm | undefined = v;
  for (;;) {
    if (value !== undefined) {
      if (Array.isArray(value)) {
        out.push(notation.list.open);
        open.push({ values: value, keys: undefined, next: 0, close: notation.list.close, separator: notation.list.separator });
      } else if (isJsonObject(value)) {
        const keys = Object.keys(value);
        if (notation.map.sortKeys) keys.sort();
        const object = value;
        out.push(notation.map.open);
        open.push({ values: keys.map((k) => object[k]!), keys, next: 0, close: notation.map.close, separator: notation.map.separator });
      } else {
        out.push(notation.scalar(value));
      }
      value = undefined;
    }
    const top = open.at(-1);
    if (top === undefined) return out.join("");
    if (top.next === top.values.length) {
      out.push(top.close);
      open.pop();
      continue;
    }
    if (top.next > 0) out.push(top.separator);
    if (top.keys !== undefined) out.push(notation.key(top.keys[top.next]!));
    value = top.values[top.next++];
  }
}

/** Erlang's ~p, as RabbitMQ's validation texts print a decoded value (see erlangJson). */
const ERLANG: JsonNotation = {
  scalar: (v) => (typeof v === "string" ? erlangString(v) : v === null ? "null" : v instanceof JsonFloat ? erlangFloat(v.value) : String(v)),
  list: { open: "[", close: "]", separator: "," },
  map: { open: "#{", close: "}", separator: ",", sortKeys: true },
  key: (k) => `${erlangString(k)} => `,
};

/** Elixir's inspect (see elixirJson). */
const ELIXIR: JsonNotation = {
  scalar: (v) => (typeof v === "string" ? JSON.stringify(v) : v === null ? ":null" : v instanceof JsonFloat ? erlangFloat(v.value) : String(v)),
  list: { open: "[", close: "]", separator: ", " },
  map: { open: "%{", close: "}", separator: ", ", sortKeys: true },
  key: (k) => `${JSON.stringify(k)} => `,
};

/**
 * A decoded JSON value as Erlang's ~p prints it in RabbitMQ's validation texts: strings as
 * binaries, floats in Erlang's form (1.0e3), null as the atom, objects as maps, arrays as lists.
 */
export function erlangJson(v: JsonTerm): string {
  return writeJson(v, ERLANG);
}

/** A list of key/value pairs as ~p prints a proplist: [{<<"k">>,V},...]. */
export function erlangPairs(pairs: ReadonlyArray<[string, JsonTerm]>): string {
  return `[${pairs.map(([k, v]) => `{${erlangString(k)},${erlangJson(v)}}`).join(",")}]`;
}

/** A decoded JSON value as Elixir's inspect prints it (rabbitmqctl shows crash reasons so). */
export function elixirJson(v: JsonTerm): string {
  return writeJson(v, ELIXIR);
}
