import { erlangBinary } from "./frame-text.js";
import { AmqpReader } from "./field-reader.js";
import { fieldTypeNameOf, type FieldValue, type NestedBytes } from "./field-types.js";
import { encodeName } from "./name-bytes.js";

/**
 * What a walk over a NestedBytes value reports, in wire order: a table or array opens, its
 * entries follow (a table's with their keys, an array's with none), then it closes. The value
 * itself opens first and closes last.
 */
export interface NestedVisitor {
  open(type: "F" | "A", key: string | undefined): void;
  /** A value that is neither a table nor an array, decoded as AmqpReader decodes it. */
  scalar(value: FieldValue, letter: string, key: string | undefined): void;
  close(type: "F" | "A"): void;
  /** True to end the walk early (the rest is not visited). */
  done?(): boolean;
}

/**
 * Walks a NestedBytes value with a loop and a stack of the containers open, not a call per
 * level: a client chooses how deep the value goes (src/amqp/field-types.ts, DECODED_LEVELS).
 * The bytes were checked when they were read, so the walk trusts their shape.
 */
export function walkNested(nested: NestedBytes, visitor: NestedVisitor): void {
  const bytes = nested.bytes;
  const r = new AmqpReader().reset(bytes, 0, bytes.length);
  const types: Array<"F" | "A"> = [nested.type];
  const ends: number[] = [4 + bytes.readUInt32BE(0)];
  r.pos = 4;
  visitor.open(nested.type, undefined);
  while (types.length > 0) {
    if (visitor.done?.() === true) return;
    const type = types[types.length - 1]!;
    if (r.pos >= ends[ends.length - 1]!) {
      types.pop();
      ends.pop();
      visitor.close(type);
      continue;
    }
    const key = type === "F" ? r.shortStr() : undefined;
    const letter = String.fromCharCode(bytes[r.pos]!);
    if (letter === "F" || letter === "A") {
      r.pos += 1;
      const len = r.u32();
      types.push(letter);
      ends.push(r.pos + len);
      visitor.open(letter, key);
    } else {
      visitor.scalar(r.fieldValue(), letter, key);
    }
  }
}

/** Where nestedErlangText stops: the texts it goes into are cut to 255 bytes. */
const ERLANG_TEXT_MAX = 1024;

/**
 * A NestedBytes value as Erlang's ~tp prints it on one line: a table as a list of
 * {Key,Type,Value}, an array as a list of {Type,Value} (src/amqp/erlang-term.ts does the rest;
 * `scalarText` prints one value of a wire type). Past ERLANG_TEXT_MAX characters the rest is "...".
 */
export function nestedErlangText(nested: NestedBytes, scalarText: (value: FieldValue, letter: string) => string): string {
  const parts: string[] = [];
  let length = 0;
  const push = (...texts: string[]): void => {
    for (const t of texts) length += t.length;
    parts.push(...texts);
  };
  // Whether the innermost open list has had an element yet (a comma goes before the next).
  const started: boolean[] = [];
  const element = (letter: string, key: string | undefined): void => {
    if (started.length > 0) {
      if (started[started.length - 1]) push(",");
      started[started.length - 1] = true;
      push(key === undefined ? "{" : `{${erlangBinary(encodeName(key))},`, fieldTypeNameOf(letter), ",");
    }
  };
  walkNested(nested, {
    open(type, key) {
      element(type, key);
      push("[");
      started.push(false);
    },
    scalar(value, letter, key) {
      element(letter, key);
      push(scalarText(value, letter), "}");
    },
    close() {
      started.pop();
      push(started.length > 0 ? "]}" : "]");
    },
    done: () => length > ERLANG_TEXT_MAX,
  });
  return length > ERLANG_TEXT_MAX ? `${parts.join("").slice(0, ERLANG_TEXT_MAX)}...` : parts.join("");
}
