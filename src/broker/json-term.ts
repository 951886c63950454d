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
  const reader = { text, pos: 0 };
  return readValue(reader);
}

interface Reader {
  text: string;
  pos: number;
}

function skipSpace(r: Reader): void {
  while (r.pos < r.text.length && " \t\n\r".includes(r.text[r.pos]!)) r.pos++;
}

function readValue(r: Reader): JsonTerm {
  skipSpace(r);
  const c = r.text[r.pos]!;
  if (c === "{") {
    r.pos++;
    const out: { [key: string]: JsonTerm } = {};
    skipSpace(r);
    if (r.text[r.pos] === "}") {
      r.pos++;
      return out;
    }
    for (;;) {
      skipSpace(r);
      const key = readString(r);
      skipSpace(r);
      r.pos++; // ':'
      const value = readValue(r);
      // Own property even for "__proto__": a definition is data, never a prototype.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      skipSpace(r);
      if (r.text[r.pos++] === "}") return out;
    }
  }
  if (c === "[") {
    r.pos++;
    const out: JsonTerm[] = [];
    skipSpace(r);
    if (r.text[r.pos] === "]") {
      r.pos++;
      return out;
    }
    for (;;) {
      out.push(readValue(r));
      skipSpace(r);
      if (r.text[r.pos++] === "]") return out;
    }
  }
  if (c === '"') return readString(r);
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

/**
 * A decoded JSON value as Erlang's ~p prints it in RabbitMQ's validation texts: strings as
 * binaries, floats in Erlang's form (1.0e3), null as the atom, objects as maps, arrays as lists.
 */
export function erlangJson(v: JsonTerm): string {
  if (typeof v === "string") return erlangString(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "null";
  if (v instanceof JsonFloat) return erlangFloat(v.value);
  if (Array.isArray(v)) return `[${v.map(erlangJson).join(",")}]`;
  const entries = Object.keys(v)
    .sort()
    .map((k) => `${erlangString(k)} => ${erlangJson(v[k]!)}`);
  return `#{${entries.join(",")}}`;
}

/** A list of key/value pairs as ~p prints a proplist: [{<<"k">>,V},...]. */
export function erlangPairs(pairs: ReadonlyArray<[string, JsonTerm]>): string {
  return `[${pairs.map(([k, v]) => `{${erlangString(k)},${erlangJson(v)}}`).join(",")}]`;
}

/** A decoded JSON value as Elixir's inspect prints it (rabbitmqctl shows crash reasons so). */
export function elixirJson(v: JsonTerm): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return ":null";
  if (v instanceof JsonFloat) return erlangFloat(v.value);
  if (Array.isArray(v)) return `[${v.map(elixirJson).join(", ")}]`;
  const entries = Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)} => ${elixirJson(v[k]!)}`);
  return `%{${entries.join(", ")}}`;
}
