/**
 * Request bodies as RabbitMQ reads them: JSON objects whose booleans and numbers may come as
 * strings (rabbitmqadmin sends `"durable":"true"`), unknown keys ignored. A value of the wrong
 * kind is a 400 with RabbitMQ's reason ([not_boolean, value], ...).
 */
import { httpError } from "./http-error.js";

export type Body = Record<string, unknown>;

/** The request body as an object: 400 not_json otherwise. An empty body is an empty object. */
export function bodyObject(body: unknown): Body {
  if (body === undefined || body === null || body === "") return {};
  if (typeof body !== "object" || Array.isArray(body)) throw httpError.badRequest("not_json");
  return body as Body;
}

export function boolParam(body: Body, key: string, fallback: boolean): boolean {
  const v = body[key];
  if (v === undefined) return fallback;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  throw httpError.badRequest(["not_boolean", typeof v === "string" ? v : JSON.stringify(v)]);
}

export function intParam(body: Body, key: string, fallback: number): number {
  const v = body[key];
  if (v === undefined) return fallback;
  const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw httpError.badRequest(["not_integer", typeof v === "string" ? v : JSON.stringify(v)]);
  return n;
}

export function stringParam(body: Body, key: string, fallback?: string): string {
  const v = body[key];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw httpError.badRequest(`${key} not found`);
  }
  if (typeof v !== "string") throw httpError.badRequest(`${key} must be a string`);
  return v;
}

/** A JSON object field (arguments, properties); {} when absent. */
export function objectParam(body: Body, key: string): Body {
  const v = body[key];
  if (v === undefined || v === null || v === "") return {};
  if (typeof v !== "object" || Array.isArray(v)) throw httpError.badRequest(`${key} must be an object`);
  return v as Body;
}
