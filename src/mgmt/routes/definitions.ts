/**
 * /api/definitions: export everything (or one vhost's queues, exchanges and bindings) in
 * RabbitMQ's JSON, and import a file, merged into what exists (src/definitions does both). A POST
 * body may be the JSON itself or a multipart form with the file in `file` (the web UI's upload).
 */
import { exportDefinitions } from "../../definitions/export-definitions.js";
import { importDefinitions } from "../../definitions/import-definitions.js";
import type { JsonObject } from "../../definitions/json.js";
import { type ApiCall, type ApiRouter, noContent } from "../api.js";
import { requireAdministrator } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";
import { isMultipart, type MultipartBody } from "../multipart.js";

const PER_VHOST_KEYS = ["queues", "exchanges", "bindings", "policies", "parameters"] as const;

export function registerDefinitionRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  api.get("/api/definitions", (call) => {
    requireAdministrator(call.principal);
    // The API's export also names the product (rabbitmqctl's does not).
    const { rabbit_version, rabbitmq_version, ...rest } = apiExport(ctx);
    return { rabbit_version, rabbitmq_version, product_name: "Warren", product_version: ctx.version, ...rest };
  });

  api.get("/api/definitions/:vhost", (call) => {
    requireAdministrator(call.principal);
    const vhost = call.params.vhost!;
    if (!broker.vhosts.has(vhost)) throw httpError.notFound();
    const all = apiExport(ctx);
    const out: JsonObject = { rabbit_version: all.rabbit_version ?? null };
    for (const key of PER_VHOST_KEYS) {
      const items = (all[key] as JsonObject[] | undefined) ?? [];
      out[key] = items
        .filter((i) => i.vhost === vhost)
        .map((i) => {
          // Policies and parameters keep their vhost field, as RabbitMQ 3.10 exports them.
          if (key === "policies" || key === "parameters") return i;
          const { vhost: _, ...rest } = i;
          return rest;
        });
    }
    return out;
  });

  const importFrom = (call: ApiCall, vhost: string | undefined) => {
    requireAdministrator(call.principal);
    if (vhost !== undefined && !broker.vhosts.has(vhost)) throw httpError.notFound();
    let definitions = definitionsBody(call.body);
    if (vhost !== undefined) definitions = intoVhost(definitions, vhost);
    const summary = importDefinitions(broker, definitions);
    ctx.log.info({ event: "definitions.imported", via: "management", ...summary }, "imported definitions");
    return noContent();
  };

  api.post("/api/definitions", (call) => importFrom(call, undefined));
  api.post("/api/definitions/:vhost", (call) => importFrom(call, call.params.vhost!));
}

/**
 * The export as the API gives it, which differs from rabbitmqctl's in three fields: exchanges say
 * whether they are internal, queues do not name their type, and vhosts are only named (RabbitMQ
 * 3.10's management plugin).
 */
function apiExport(ctx: ManagementContext): JsonObject {
  const all = exportDefinitions(ctx.broker);
  const exchanges = (all.exchanges as JsonObject[]).map((x) => {
    const { arguments: args, auto_delete, durable, name, type, vhost } = x;
    return { name, vhost, type, durable, auto_delete, internal: false, arguments: args } as JsonObject;
  });
  const queues = (all.queues as JsonObject[]).map((q) => {
    const { arguments: args, auto_delete, durable, name, vhost } = q;
    return { name, vhost, durable, auto_delete, arguments: args } as JsonObject;
  });
  // The API's vhosts are names only (rabbitmqctl's carry their limits and metadata too).
  const vhosts = (all.vhosts as JsonObject[]).map((v) => ({ name: v.name }) as JsonObject);
  return { ...all, vhosts, exchanges, queues };
}

/** The definitions a POST carries: its JSON body, or the JSON of a multipart form's `file`. */
function definitionsBody(body: unknown): unknown {
  if (!isMultipart(body)) return body;
  const file = (body as MultipartBody).parts.get("file");
  if (file === undefined) throw httpError.badRequest("no file in the form");
  try {
    return JSON.parse(file);
  } catch {
    throw httpError.badRequest("not_json");
  }
}

/** A per-vhost file: its queues, exchanges and bindings put into the vhost of the path. */
function intoVhost(definitions: unknown, vhost: string): unknown {
  if (typeof definitions !== "object" || definitions === null || Array.isArray(definitions)) return definitions;
  const out: Record<string, unknown> = {};
  for (const key of ["queues", "exchanges", "bindings"]) {
    const items = (definitions as Record<string, unknown>)[key];
    if (Array.isArray(items)) out[key] = items.map((i) => (typeof i === "object" && i !== null ? { ...i, vhost } : i));
  }
  return out;
}
