/** Queue, exchange and binding arguments: the JSON of a definitions file <-> AMQP field tables. */
import { arrayTypes, Decimal, tableTypes, writtenTypeLetter, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import { bad } from "./definitions-error.js";
import { isObject, type Json, type JsonObject } from "./json.js";

/**
 * JSON arguments to a field table, typed as RabbitMQ types them on import
 * (rabbit_misc:to_amqp_table): integers are long, other numbers double, strings longstr.
 */
export function jsonToTable(v: unknown, where: string): FieldTable {
  if (!isObject(v)) throw bad(`${where} must be an object`);
  const table: FieldTable = {};
  const types: Record<string, string> = {};
  for (const [key, value] of Object.entries(v)) {
    table[key] = jsonToField(value, `${where}.${key}`);
    if (typeof value === "number" && Number.isInteger(value)) types[key] = "l";
  }
  tableTypes.set(table, types);
  return table;
}

function jsonToField(v: unknown, where: string): FieldValue {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (Array.isArray(v)) {
    const array = v.map((e, i) => jsonToField(e, `${where}[${i}]`));
    // Integers in arrays are long too (and written so): RabbitMQ compares and hashes them typed.
    arrayTypes.set(array, v.map((e, i) => (typeof e === "number" && Number.isInteger(e) ? "l" : writtenTypeLetter(array[i]!))).join(""));
    return array;
  }
  if (isObject(v)) return jsonToTable(v, where);
  throw bad(`${where}: unsupported value`);
}

/** A field table as the JSON RabbitMQ exports. */
export function tableToJson(table: FieldTable): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(table)) out[key] = fieldToJson(value);
  return out;
}

function fieldToJson(v: FieldValue): Json {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (v instanceof Decimal) return v.value / 10 ** v.scale;
  if (Array.isArray(v)) return v.map(fieldToJson);
  return tableToJson(v);
}
