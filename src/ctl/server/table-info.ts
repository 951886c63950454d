/** AMQP field tables (queue arguments, binding arguments) as the InfoValues list commands answer with. */
import { Decimal, fieldTypeName, fieldTypeNameOf, NestedBytes, type FieldTable, type FieldValue } from "../../amqp/field-types.js";
import { walkNested } from "../../amqp/nested-bytes.js";
import type { InfoValue, TableEntry, TableValue } from "../info-values.js";

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
  if (value instanceof NestedBytes) return fieldTypeNameOf(value.type);
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
  if (value instanceof NestedBytes) return nestedValue(value);
  if (Array.isArray(value)) return value.map((v): [string, TableValue] => [typeName(v, guessType(v)), tableValue(v)]);
  return tableEntries(value);
}

function guessType(v: FieldValue): string {
  if (typeof v === "string") return "longstr";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "long" : "double";
  return "table";
}

/** A table or array too deep to have been decoded, built in a loop (it may nest ~18,000 levels). */
function nestedValue(nested: NestedBytes): TableValue {
  const open: Array<TableEntry[] | Array<[string, TableValue]>> = [];
  let root: TableValue = [];
  const add = (value: TableValue, letter: string, key: string | undefined): void => {
    const parent = open[open.length - 1];
    if (parent === undefined) root = value;
    else if (key === undefined) (parent as Array<[string, TableValue]>).push([fieldTypeNameOf(letter), value]);
    else (parent as TableEntry[]).push([key, fieldTypeNameOf(letter), value]);
  };
  walkNested(nested, {
    open(type, key) {
      const container: TableEntry[] = [];
      add(container, type, key);
      open.push(container);
    },
    scalar(value, letter, key) {
      add(tableValue(value), letter, key);
    },
    close() {
      open.pop();
    },
  });
  return root;
}
