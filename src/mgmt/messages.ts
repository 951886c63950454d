/**
 * Messages as the API shows and takes them: POST .../get answers with each message's properties
 * and payload (a string when it is valid UTF-8 under encoding "auto", else base64), and POST
 * .../publish builds a message from JSON properties and a payload.
 */
import { type BasicProperties, decodeBasicProperties, encodeBasicProperties } from "../amqp/generated.js";
import { AmqpReader } from "../amqp/field-reader.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import { jsonToTable, tableToJson } from "../definitions/field-table-json.js";
import { httpError } from "./http-error.js";
import type { Item } from "./listing.js";
import type { Body } from "./params.js";

/** The property names in JSON, in RabbitMQ's spelling. */
const NAMES: Array<[keyof BasicProperties, string]> = [
  ["contentType", "content_type"],
  ["contentEncoding", "content_encoding"],
  ["headers", "headers"],
  ["deliveryMode", "delivery_mode"],
  ["priority", "priority"],
  ["correlationId", "correlation_id"],
  ["replyTo", "reply_to"],
  ["expiration", "expiration"],
  ["messageId", "message_id"],
  ["timestamp", "timestamp"],
  ["type", "type"],
  ["userId", "user_id"],
  ["appId", "app_id"],
];

/** A content header's property section as the API's JSON: [] when there are none (an empty Erlang list, as RabbitMQ prints it). */
export function propertiesJson(raw: Buffer): Item | [] {
  if (raw.length < 2 || raw.readUInt16BE(0) === 0) return [];
  const p = decodeBasicProperties(new AmqpReader().reset(raw, 0, raw.length));
  const out: Item = {};
  for (const [key, json] of NAMES) {
    const v = p[key];
    if (v === undefined) continue;
    out[json] = key === "headers" ? tableToJson(v as NonNullable<BasicProperties["headers"]>) : v;
  }
  return Object.keys(out).length === 0 ? [] : out;
}

const NUMERIC = new Set(["delivery_mode", "priority", "timestamp"]);

/** JSON properties to a content header's property section (unknown keys refused, as RabbitMQ). */
export function propertiesFromJson(json: Body): Buffer {
  const p: BasicProperties = {};
  const byJson = new Map(NAMES.map(([key, name]) => [name, key]));
  for (const [name, v] of Object.entries(json)) {
    const key = byJson.get(name);
    if (key === undefined) throw httpError.badRequest(`invalid property '${name}'`);
    if (key === "headers") p.headers = jsonToTable(v, "headers");
    else if (NUMERIC.has(name)) {
      const n = typeof v === "string" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw httpError.badRequest(`${name} must be a non-negative integer`);
      (p as Record<string, unknown>)[key] = n;
    } else if (typeof v === "string") (p as Record<string, unknown>)[key] = v;
    else throw httpError.badRequest(`${name} must be a string`);
  }
  const w = new AmqpWriter(256);
  encodeBasicProperties(w, p);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** A payload as RabbitMQ shows it: text under "auto" when it is valid UTF-8, base64 otherwise. */
export function payloadJson(body: Buffer, encoding: "auto" | "base64", truncate: number | undefined): Item {
  const shown = truncate !== undefined && body.length > truncate ? body.subarray(0, truncate) : body;
  if (encoding === "auto") {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(shown);
    if (Buffer.from(text, "utf8").equals(shown)) return { payload: text, payload_encoding: "string" };
  }
  return { payload: shown.toString("base64"), payload_encoding: "base64" };
}

/** A payload from JSON: "string" (UTF-8) or "base64". */
export function payloadFromJson(payload: unknown, encoding: unknown): Buffer {
  if (typeof payload !== "string") throw httpError.badRequest("payload must be a string");
  if (encoding === "string") return Buffer.from(payload, "utf8");
  if (encoding === "base64") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw httpError.badRequest("not_base64");
    return Buffer.from(payload, "base64");
  }
  if (typeof encoding === "string") throw httpError.badRequest(["unsupported_encoding", encoding]);
  throw httpError.badRequest(`invalid payload_encoding '${String(encoding)}'`);
}
