/** /api/exchanges: list, declare, delete, bindings, and publishing a message. */
import { Message } from "../../broker/message.js";
import { exchangeTypes } from "../../broker/exchange/registry.js";
import type { Exchange } from "../../broker/exchange/exchange.js";
import { publishOutsideChannel } from "../../broker/publish-outside-channel.js";
import type { VHost } from "../../broker/vhost.js";
import { jsonToTable } from "../../definitions/field-table-json.js";
import { type ApiRouter, created, noContent } from "../api.js";
import { canSeeVhost, type Principal, requirePermission, requireVhostAccess, visibleVhosts } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { HttpError, httpError } from "../http-error.js";
import { type Item, listResponse, objectResponse, type Query } from "../listing.js";
import { payloadFromJson, propertiesFromJson } from "../messages.js";
import { bodyObject, boolParam, objectParam, stringParam } from "../params.js";
import { bindingJson, bindingView, exchangeJson, forRequest } from "../shapes.js";

/** The default exchange's name in paths: it has no name of its own. */
export const DEFAULT_EXCHANGE_PATH_NAME = "amq.default";

/** An exchange name from a path ("amq.default" is the default exchange). */
export function exchangeName(pathName: string): string {
  return pathName === DEFAULT_EXCHANGE_PATH_NAME ? "" : pathName;
}

export function registerExchangeRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  const exchangesOf = (p: Principal, vhosts: string[], query: Query): Item[] => {
    const sc = forRequest(ctx, query);
    const out: Item[] = [];
    for (const name of vhosts) {
      if (!canSeeVhost(broker, p, name)) continue;
      for (const x of broker.vhosts.get(name)!.exchanges.values()) out.push(exchangeJson(x, sc));
    }
    return out;
  };

  api.get("/api/exchanges", (call) =>
    listResponse(exchangesOf(call.principal, visibleVhosts(broker, call.principal), call.query), call.query, ["vhost", "name"]),
  );

  api.get("/api/exchanges/:vhost", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listResponse(exchangesOf(call.principal, [call.params.vhost!], call.query), call.query, ["vhost", "name"]);
  });

  const exchangeAt = (call: { principal: Principal; params: Record<string, string> }): { vhost: VHost; exchange: Exchange } => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    const vhost = broker.vhosts.get(call.params.vhost!)!;
    const exchange = vhost.exchanges.get(exchangeName(call.params.exchange!));
    if (exchange === undefined) throw httpError.notFound();
    return { vhost, exchange };
  };

  api.get("/api/exchanges/:vhost/:exchange", (call) => {
    const { exchange } = exchangeAt(call);
    const out = exchangeJson(exchange, forRequest(ctx, call.query));
    out.incoming = [];
    out.outgoing = [];
    return objectResponse(out, call.query);
  });

  api.put("/api/exchanges/:vhost/:exchange", (call) => {
    const vhostName = call.params.vhost!;
    const name = exchangeName(call.params.exchange!);
    if (!broker.vhosts.has(vhostName)) throw new HttpError(404, "not_found", "vhost_not_found");
    const vhost = broker.vhosts.get(vhostName)!;
    if (name === "" || (name.startsWith("amq.") && !vhost.exchanges.has(name))) throw httpError.notAuthorised("Access refused.");
    requirePermission(broker, call.principal, vhostName, "configure", name);
    const body = bodyObject(call.body);
    const type = stringParam(body, "type", "direct");
    if (!exchangeTypes.has(type)) throw httpError.badRequest(`unknown exchange type '${type}'`);
    const options = {
      durable: boolParam(body, "durable", false),
      autoDelete: boolParam(body, "auto_delete", false),
      internal: boolParam(body, "internal", false),
      arguments: jsonToTable(objectParam(body, "arguments"), "arguments"),
    };
    const existed = vhost.exchanges.has(name);
    vhost.declareExchange(name, type, options);
    return existed ? noContent() : created();
  });

  api.delete("/api/exchanges/:vhost/:exchange", (call) => {
    const { vhost, exchange } = exchangeAt(call);
    if (exchange.name === "" || exchange.name.startsWith("amq.")) throw httpError.notAuthorised("Access refused.");
    requirePermission(broker, call.principal, vhost.name, "configure", exchange.name);
    vhost.deleteExchange(exchange.name, call.query["if-unused"] === "true");
    return noContent();
  });

  api.get("/api/exchanges/:vhost/:exchange/bindings/source", (call) => {
    const { exchange } = exchangeAt(call);
    return listResponse(
      [...exchange.bindings.values()].map((b) => bindingJson(bindingView(b))),
      call.query,
    );
  });

  api.get("/api/exchanges/:vhost/:exchange/bindings/destination", (call) => {
    const { exchange } = exchangeAt(call);
    return listResponse(
      [...exchange.incoming].map((b) => bindingJson(bindingView(b))),
      call.query,
    );
  });

  api.post("/api/exchanges/:vhost/:exchange/publish", (call) => {
    const vhostName = call.params.vhost!;
    requireVhostAccess(broker, call.principal, vhostName, true);
    const vhost = broker.vhosts.get(vhostName)!;
    const name = exchangeName(call.params.exchange!);
    const body = bodyObject(call.body);
    const missing = ["routing_key", "properties", "payload", "payload_encoding"].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw httpError.badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(",")}]`);
    const routingKey = stringParam(body, "routing_key");
    const properties = propertiesFromJson(objectParam(body, "properties"));
    const payload = payloadFromJson(body.payload, body.payload_encoding);
    requirePermission(broker, call.principal, vhostName, "write", name === "" ? DEFAULT_EXCHANGE_PATH_NAME : name);
    const exchange = vhost.exchanges.get(name);
    if (exchange === undefined) throw httpError.badRequest(`404 NOT_FOUND - no exchange '${name}' in vhost '${vhostName}'`);
    if (exchange.options.internal) throw httpError.badRequest(`403 ACCESS_REFUSED - cannot publish to internal exchange '${name}' in vhost '${vhostName}'`);
    return { routed: publishOutsideChannel(vhost, exchange, new Message(name, routingKey, properties, payload)).routed };
  });
}
