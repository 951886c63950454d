/**
 * Field-table values as Warren holds them in memory.
 *
 * AMQP tables are typed on the wire (RabbitMQ's dialect: t b B s u I i l L f d D S x A T F V).
 * Warren keeps the raw bytes of every content header it forwards, so a table only needs to be
 * decoded when the broker reads it (headers exchange, arguments) and re-encoded when the broker
 * writes one itself. Integers decode to number (int64 beyond 2^53 to bigint).
 */
export type FieldValue = string | number | bigint | boolean | null | Buffer | Date | Decimal | FieldArray | FieldTable | NestedBytes;

export interface FieldTable {
  [key: string]: FieldValue;
}

export type FieldArray = FieldValue[];

/** AMQP decimal: value × 10^-scale. */
export class Decimal {
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {}
}

/**
 * How many levels of tables and arrays inside a table are decoded to objects (the table itself is
 * level 0). A client may nest as deep as a frame allows (~18,000 levels in 128 KiB); code that
 * walks decoded values recurses, so a container deeper than this is kept as its wire bytes.
 */
export const DECODED_LEVELS = 64;

/**
 * A table ('F') or array ('A') nested deeper than DECODED_LEVELS, kept as its exact wire bytes
 * (the u32 length and the content, without the type octet): written back byte for byte, equal to
 * another when the bytes are (RabbitMQ compares nested values with their types and in order, so
 * bytes say the same, but for a float 0.0 against -0.0), and read by src/amqp/nested-bytes.ts's
 * iterative walk where its contents are shown.
 */
export class NestedBytes {
  constructor(
    readonly type: "F" | "A",
    readonly bytes: Buffer,
  ) {}
}

/** A value that must be written with a given wire type, when the default choice is wrong. */
export class TypedValue {
  constructor(
    readonly type: "b" | "B" | "s" | "u" | "I" | "i" | "l" | "f" | "d",
    readonly value: number | bigint,
  ) {}
}

/**
 * The wire type letter of each value of a decoded table, by key. Decoding keeps it aside so that
 * error texts can name a value's type as RabbitMQ does ("the value '20' of type 'byte'").
 */
export const tableTypes = new WeakMap<FieldTable, Record<string, string>>();

/**
 * The wire type letters of a decoded array's elements, one per element. RabbitMQ compares the
 * elements of arrays (and the values of nested tables) with their types: [int 1] is not [long 1].
 */
export const arrayTypes = new WeakMap<FieldArray, string>();

/** The wire type letter field-writer.ts writes for a value that carries no decoded type. */
export function writtenTypeLetter(v: FieldValue): string {
  if (typeof v === "string") return "S";
  if (typeof v === "boolean") return "t";
  if (typeof v === "number") return Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff ? "I" : Number.isSafeInteger(v) ? "l" : "d";
  if (typeof v === "bigint") return "l";
  if (v === null) return "V";
  if (Buffer.isBuffer(v)) return "x";
  if (v instanceof Date) return "T";
  if (v instanceof Decimal) return "D";
  if (v instanceof NestedBytes) return v.type;
  return Array.isArray(v) ? "A" : "F";
}

const TYPE_NAMES: Record<string, string> = {
  t: "bool",
  b: "byte",
  B: "unsignedbyte",
  s: "short",
  u: "unsignedshort",
  I: "signedint",
  i: "unsignedint",
  l: "long",
  L: "unsignedlong",
  f: "float",
  d: "double",
  D: "decimal",
  S: "longstr",
  x: "binary",
  A: "array",
  T: "timestamp",
  F: "table",
  V: "void",
};

/** RabbitMQ's name for a wire type letter ("S" is "longstr", "b" is "byte", ...). */
export function fieldTypeNameOf(letter: string): string {
  return TYPE_NAMES[letter] ?? letter;
}

/** RabbitMQ's name for the type of table[key] ("longstr", "byte", ...), guessed when not decoded. */
export function fieldTypeName(table: FieldTable, key: string): string {
  const letter = tableTypes.get(table)?.[key];
  if (letter !== undefined) return TYPE_NAMES[letter] ?? letter;
  const v = table[key];
  if (typeof v === "string") return "longstr";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "signedint" : "double";
  if (v instanceof NestedBytes) return TYPE_NAMES[v.type]!;
  return "table";
}
