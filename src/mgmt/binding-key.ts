/**
 * A binding's properties_key, the name the management API gives it in paths
 * (`/api/bindings/{vhost}/e/{source}/q/{queue}/{props}`), as RabbitMQ 3.10 computes it
 * (rabbit_mgmt_format:pack_binding_props): "~" for an empty routing key without arguments, the
 * quoted routing key, and with arguments "~" and the base64url of erlang:phash2 of the argument
 * table as RabbitMQ holds it — a list of {Key, Type, Value} sorted by key, each value as
 * RabbitMQ's AMQP codec decodes it (src/mgmt/phash2.ts). So a key read from RabbitMQ names the
 * same binding on Warren.
 */
import {
  arrayTypes,
  type Decimal,
  fieldTypeNameOf,
  NestedBytes,
  tableTypes,
  writtenTypeLetter,
  type FieldTable,
  type FieldValue,
} from "../amqp/field-types.js";
import { decodeName, encodeName } from "../amqp/name-bytes.js";
import { walkNested } from "../amqp/nested-bytes.js";
import { atom, ErlFloat, type ErlTerm, ErlTuple, phash2 } from "./phash2.js";

export function propertiesKey(routingKey: string, args: FieldTable): string {
  if (Object.keys(args).length === 0) return routingKey === "" ? "~" : quoteBinding(routingKey);
  return `${quoteBinding(routingKey)}~${quoteBinding(argsHash(args))}`;
}

/** rabbit_mgmt_format:args_hash: the 32-bit phash2 of the table, base64url without padding. */
export function argsHash(args: FieldTable): string {
  const hash = Buffer.alloc(4);
  hash.writeUInt32BE(phash2(sortedTableTerm(args)));
  return hash.toString("base64url");
}

/** A binding's arguments as RabbitMQ stores them: sorted by key, bytewise (rabbit_misc:sort_field_table). */
function sortedTableTerm(table: FieldTable): ErlTerm {
  const types = tableTypes.get(table);
  return Object.keys(table)
    .map((key) => ({ key, bytes: encodeName(key) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key, bytes }) => entryTerm(bytes, table[key]!, types?.[key]));
}

/** A nested table keeps its order, as RabbitMQ's decoder gives it. */
function tableTerm(table: FieldTable): ErlTerm {
  const types = tableTypes.get(table);
  return Object.keys(table).map((key) => entryTerm(encodeName(key), table[key]!, types?.[key]));
}

function entryTerm(key: Buffer, value: FieldValue, letter: string | undefined): ErlTerm {
  const [type, v] = typedValue(value, letter ?? writtenTypeLetter(value));
  return new ErlTuple(key, type, v);
}

/** {Type, Value} as rabbit_binary_parser decodes a field value of wire type `letter`. */
function typedValue(value: FieldValue, letter: string): [ErlTerm, ErlTerm] {
  const type = atom(fieldTypeNameOf(letter));
  if (value instanceof NestedBytes) return [type, nestedTerm(value)];
  switch (letter) {
    case "t":
      return [type, atom(value ? "true" : "false")];
    case "f":
    case "d":
      return [type, new ErlFloat(value as number)];
    case "S":
      return [type, encodeName(value as string)];
    case "x":
      return [type, value as Buffer];
    case "T":
      return [type, Math.floor((value as Date).getTime() / 1000)];
    case "D": {
      const d = value as Decimal;
      return [type, new ErlTuple(d.scale, d.value)];
    }
    case "V":
      return [type, atom("undefined")];
    case "A": {
      const array = value as FieldValue[];
      const types = arrayTypes.get(array);
      return [type, array.map((v, i) => new ErlTuple(...typedValue(v, types?.[i] ?? writtenTypeLetter(v))))];
    }
    case "F":
      return [type, tableTerm(value as FieldTable)];
    default:
      // Integers of every width (bigint beyond 2^53).
      return [type, typeof value === "bigint" ? value : Number(value)];
  }
}

/** A table or array too deep to have been decoded, as the same terms, built in a loop. */
function nestedTerm(nested: NestedBytes): ErlTerm {
  const open: ErlTerm[][] = [];
  let root: ErlTerm = [];
  const add = (value: ErlTerm, letter: string, key: string | undefined): void => {
    const parent = open[open.length - 1];
    const type = atom(fieldTypeNameOf(letter));
    if (parent === undefined) root = value;
    else parent.push(key === undefined ? new ErlTuple(type, value) : new ErlTuple(encodeName(key), type, value));
  };
  walkNested(nested, {
    open(type, key) {
      const list: ErlTerm[] = [];
      add(list, type, key);
      open.push(list);
    },
    scalar(value, letter, key) {
      add(typedValue(value, letter)[1], letter, key);
    },
    close() {
      open.pop();
    },
  });
  return root;
}

/** rabbit_http_util:quote_plus with "~" escaped: letters, digits and "-_." stay, space is "+". */
export function quoteBinding(text: string): string {
  let out = "";
  for (const byte of encodeName(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9._-]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * A properties key from a path, read as RabbitMQ reads it (rabbit_mgmt_format's tokenise and
 * unquote): split at "~", each part unquoted (`+` is a space, `%XX` a byte). So `a.*`, the
 * listing's `a.%2A` sent quoted once more, and `~` all name their binding.
 */
export function parsePropertiesKey(props: string): { routingKey: string; argsHash?: string } | undefined {
  const parts = props.split("~");
  // RabbitMQ's tokeniser drops one empty part at the end ("k~" is "k").
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length > 2) return undefined;
  const [key, hash] = parts.map(unquotePlus);
  return hash === undefined ? { routingKey: key! } : { routingKey: key!, argsHash: hash };
}

/** Whether a binding is the one a parsed properties key names. */
export function isNamedBy(parsed: { routingKey: string; argsHash?: string }, routingKey: string, args: FieldTable): boolean {
  if (parsed.routingKey !== routingKey) return false;
  const hasArgs = Object.keys(args).length > 0;
  return parsed.argsHash === undefined ? !hasArgs : hasArgs && argsHash(args) === parsed.argsHash;
}

function unquotePlus(text: string): string {
  const bytes: number[] = [];
  const raw = encodeName(text);
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    const hex = c === 0x25 && i + 2 < raw.length ? raw.subarray(i + 1, i + 3).toString("latin1") : "";
    if (c === 0x2b) bytes.push(0x20);
    else if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(c);
  }
  const buf = Buffer.from(bytes);
  return decodeName(buf, 0, buf.length);
}
