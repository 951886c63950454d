/**
 * The values warrenctl's list commands show, as the broker sends them over the control socket.
 *
 * rabbitmqctl prints Erlang terms: an AMQP table as `[{"x-max-length",10}]` in a table and as
 * `[["x-max-length","long",10]]` in JSON, a pid as `<node.1.2.3>` or `"#PID<1.2.3>"`, tags as
 * `[administrator]`. Each shape below is one such kind of term, so the CLI can render both forms
 * (src/ctl/format.ts) from one answer.
 */
import { Decimal, fieldTypeName, type FieldTable, type FieldValue } from "../amqp/field-types.js";

export type InfoValue =
  | string
  | number
  | boolean
  /** A float: printed with a decimal point even when integral ("1.0"), as Erlang does. */
  | { float: number }
  /** An AMQP field table: [key, RabbitMQ type name, value]. */
  | { table: TableEntry[] }
  /** A list of atoms, such as user tags. */
  | { atoms: string[] }
  /** An Erlang-style process id, "<node.a.b.c>". */
  | { pid: string }
  /** An integer tuple, such as the protocol {0,9,1}. */
  | { tuple: number[] }
  /** An IP address. */
  | { ip: string }
  /** Node name → state (list_vhosts cluster_state). */
  | { nodes: Record<string, string> };

/** One entry of an AMQP table as RabbitMQ's JSON shows it: [key, type, value]. */
export type TableEntry = [string, string, TableValue];

/** A table value: nested tables are entry lists, arrays are [type, value] lists. */
export type TableValue = string | number | boolean | null | TableEntry[] | Array<[string, TableValue]> | { float: number };

/** An AMQP field table as an InfoValue, with each value's wire type named as RabbitMQ names it. */
export function tableInfo(table: FieldTable): InfoValue {
  return { table: tableEntries(table) };
}

function tableEntries(table: FieldTable): TableEntry[] {
  return Object.keys(table).map((key): TableEntry => {
    const value = table[key]!;
    return [key, typeName(value, fieldTypeName(table, key)), tableValue(value)];
  });
}

function typeName(value: FieldValue, decodedAs: string): string {
  // fieldTypeName guesses "table" for values it has no wire type for: name those properly.
  if (decodedAs !== "table") return decodedAs;
  if (Array.isArray(value)) return "array";
  if (value === null) return "void";
  if (Buffer.isBuffer(value)) return "binary";
  if (value instanceof Date) return "timestamp";
  if (value instanceof Decimal) return "decimal";
  if (typeof value === "bigint") return "long";
  return "table";
}

function tableValue(value: FieldValue): TableValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isInteger(value) ? value : { float: value };
  if (typeof value === "bigint") return Number(value);
  if (Buffer.isBuffer(value)) return value.toString("latin1");
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (value instanceof Decimal) return { float: value.value / 10 ** value.scale };
  if (Array.isArray(value)) return value.map((v): [string, TableValue] => [typeName(v, guessType(v)), tableValue(v)]);
  return tableEntries(value);
}

function guessType(v: FieldValue): string {
  if (typeof v === "string") return "longstr";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "long" : "double";
  return "table";
}
