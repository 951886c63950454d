/** Queue, exchange and binding arguments: the JSON of a definitions file <-> AMQP field tables. */
import { AmqpWriter } from "../amqp/field-writer.js";
import { arrayTypes, Decimal, DECODED_LEVELS, NestedBytes, tableTypes, writtenTypeLetter, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import { walkNested } from "../amqp/nested-bytes.js";
import { bad } from "./definitions-error.js";
import { isObject, type Json, type JsonObject } from "./json.js";

/**
 * JSON arguments to a field table, typed as RabbitMQ types them on import
 * (rabbit_misc:to_amqp_table): integers are long, other numbers double, strings longstr.
 */
export function jsonToTable(v: unknown, where: string, level = 0): FieldTable {
  if (!isObject(v)) throw bad(`${where} must be an object`);
  const table: FieldTable = {};
  const types: Record<string, string> = {};
  for (const [key, value] of Object.entries(v)) {
    table[key] = jsonToField(value, `${where}.${key}`, level + 1);
    if (typeof value === "number" && Number.isInteger(value)) types[key] = "l";
  }
  tableTypes.set(table, types);
  return table;
}

/** `level`: how deep a table or array value would sit (as AmqpReader.fieldValue counts). */
function jsonToField(v: unknown, where: string, level: number): FieldValue {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  // As deep as the decoder keeps bytes: the same bytes, so a table from JSON equals one from the wire.
  if (level > DECODED_LEVELS && (Array.isArray(v) || isObject(v))) return nestedFromJson(v, where);
  if (Array.isArray(v)) {
    const array = v.map((e, i) => jsonToField(e, `${where}[${i}]`, level + 1));
    // Integers in arrays are long too (and written so): RabbitMQ compares and hashes them typed.
    arrayTypes.set(array, v.map((e, i) => (typeof e === "number" && Number.isInteger(e) ? "l" : writtenTypeLetter(array[i]!))).join(""));
    return array;
  }
  if (isObject(v)) return jsonToTable(v, where, level);
  throw bad(`${where}: unsupported value`);
}

/**
 * A JSON object or array as the wire bytes of the table or array it stands for, typed as
 * jsonToTable types values (integers long, other numbers double, strings longstr). In a loop with
 * a stack of the containers open: the JSON may nest as deep as its parser allowed.
 */
function nestedFromJson(root: unknown[] | Record<string, unknown>, where: string): NestedBytes {
  const w = new AmqpWriter(256);
  // Each open container: the entries left to write and where its length goes.
  const open: Array<{ entries: Array<[string | undefined, unknown]>; next: number; lengthAt: number }> = [];
  const start = (v: unknown[] | Record<string, unknown>): void => {
    w.ensure(4);
    open.push({ entries: Array.isArray(v) ? v.map((e) => [undefined, e]) : Object.entries(v), next: 0, lengthAt: w.pos });
    w.pos += 4;
  };
  start(root);
  while (open.length > 0) {
    const top = open[open.length - 1]!;
    if (top.next === top.entries.length) {
      w.buf.writeUInt32BE(w.pos - top.lengthAt - 4, top.lengthAt);
      open.pop();
      continue;
    }
    const [key, value] = top.entries[top.next++]!;
    if (key !== undefined) {
      if (Buffer.byteLength(key) > 255) throw bad(`${where}: a key longer than 255 bytes`);
      w.shortStr(key);
    }
    if (Array.isArray(value) || isObject(value)) {
      w.u8(Array.isArray(value) ? 0x41 : 0x46); // A, F
      start(value);
    } else {
      writeJsonScalar(w, value, where);
    }
  }
  const bytes = Buffer.from(w.buf.subarray(0, w.pos));
  return new NestedBytes(Array.isArray(root) ? "A" : "F", bytes);
}

function writeJsonScalar(w: AmqpWriter, v: unknown, where: string): void {
  if (typeof v === "string") {
    w.u8(0x53); // S
    w.longStr(v);
  } else if (typeof v === "boolean") {
    w.u8(0x74); // t
    w.u8(v ? 1 : 0);
  } else if (v === null) {
    w.u8(0x56); // V
  } else if (typeof v === "number" && Number.isSafeInteger(v)) {
    w.u8(0x6c); // l
    w.ensure(8);
    w.buf.writeBigInt64BE(BigInt(v), w.pos);
    w.pos += 8;
  } else if (typeof v === "number") {
    w.u8(0x64); // d
    w.ensure(8);
    w.buf.writeDoubleBE(v, w.pos);
    w.pos += 8;
  } else {
    throw bad(`${where}: unsupported value`);
  }
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
  if (v instanceof NestedBytes) return nestedToJson(v);
  if (Array.isArray(v)) return v.map(fieldToJson);
  return tableToJson(v);
}

/**
 * A table or array too deep to have been decoded, as the JSON it would give: built in a loop, so
 * as deep as it is (its text needs src/ctl/json-text.ts, as JSON.stringify recurses).
 */
function nestedToJson(nested: NestedBytes): Json {
  const open: Array<JsonObject | Json[]> = [];
  let root: Json = null;
  const add = (value: Json, key: string | undefined): void => {
    const parent = open[open.length - 1];
    if (parent === undefined) root = value;
    else if (Array.isArray(parent)) parent.push(value);
    else Object.defineProperty(parent, key!, { value, enumerable: true, writable: true, configurable: true }); // even "__proto__"
  };
  walkNested(nested, {
    open(type, key) {
      const container: JsonObject | Json[] = type === "F" ? {} : [];
      add(container, key);
      open.push(container);
    },
    scalar(value, _letter, key) {
      add(fieldToJson(value), key);
    },
    close() {
      open.pop();
    },
  });
  return root;
}
