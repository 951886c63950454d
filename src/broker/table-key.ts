import { Decimal, NestedBytes, type FieldTable, type FieldValue } from "../amqp/field-types.js";

/**
 * A canonical string for a field table: equal tables (in any key order) give equal strings.
 * Binding identity and "same arguments?" checks on redeclare use it.
 */
export function tableKey(table: FieldTable | undefined): string {
  if (!table) return "{}";
  const keys = Object.keys(table).sort();
  if (keys.length === 0) return "{}";
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + valueKey(table[k]!)).join(",") + "}";
}

function valueKey(v: FieldValue): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
    case "boolean":
      return String(v);
    case "bigint":
      return v.toString() + "n";
  }
  if (Buffer.isBuffer(v)) return "x" + v.toString("hex");
  if (v instanceof Date) return "T" + v.getTime();
  if (v instanceof Decimal) return `D${v.scale}:${v.value}`;
  // Deeper than the decoder builds objects for: its bytes (RabbitMQ keeps nested tables in order).
  if (v instanceof NestedBytes) return v.type + v.bytes.toString("hex");
  if (Array.isArray(v)) return "[" + v.map(valueKey).join(",") + "]";
  return tableKey(v as FieldTable);
}
