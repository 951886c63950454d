/**
 * /api/bindings: list them, and bind, look up and unbind one between an exchange and a queue
 * (`q`) or another exchange (`e`). A binding is named in paths by its properties_key
 * (src/mgmt/binding-key.ts); POST answers 201 with a Location holding it, as RabbitMQ.
 */
import type { Destination } from "../../broker/binding.js";
import type { Exchange } from "../../broker/exchange/exchange.js";
import type { VHost } from "../../broker/vhost.js";
import { jsonToTable } from "../../definitions/field-table-json.js";
import { type ApiCall, type ApiRouter, created, noContent } from "../api.js";
import { canSeeVhost, requirePermission, requireVhostAccess, visibleVhosts } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { HttpError, httpError } from "../http-error.js";
import { listResponse, objectResponse } from "../listing.js";
import { bodyObject, objectParam, stringParam } from "../params.js";
import { isNamedBy, parsePropertiesKey, propertiesKey } from "../binding-key.js";
import { type BindingView, bindingJson, bindingView, implicitBinding } from "../shapes.js";
import { exchangeName } from "./exchanges.js";

/** Every binding of a vhost, RabbitMQ's order: the default exchange's first, then by source, key, destination. */
export function vhostBindings(vhost: VHost): BindingView[] {
  const explicit: BindingView[] = [];
  for (const x of vhost.exchanges.values()) for (const b of x.bindings.values()) explicit.push(bindingView(b));
  explicit.sort(
    (a, b) => cmp(a.source, b.source) || cmp(a.routingKey, b.routingKey) || cmp(a.destinationType, b.destinationType) || cmp(a.destination, b.destination),
  );
  const implicit = [...vhost.queues.values()].map(implicitBinding).sort((a, b) => cmp(a.destination, b.destination));
  return [...implicit, ...explicit];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function registerBindingRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  api.get("/api/bindings", (call) => {
    const rows = visibleVhosts(broker, call.principal).flatMap((name) => vhostBindings(broker.vhosts.get(name)!));
    return listResponse(rows.map(bindingJson), call.query);
  });

  api.get("/api/bindings/:vhost", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listResponse(vhostBindings(broker.vhosts.get(call.params.vhost!)!).map(bindingJson), call.query);
  });

  /** The two ends a path names; 404 when either is missing. */
  const ends = (call: ApiCall, kind: "q" | "e"): { vhost: VHost; source: Exchange; destination: Destination } => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    const vhost = broker.vhosts.get(call.params.vhost!)!;
    const source = vhost.exchanges.get(exchangeName(call.params.source!));
    const destination = kind === "q" ? vhost.queues.get(call.params.destination!) : vhost.exchanges.get(exchangeName(call.params.destination!));
    if (source === undefined || destination === undefined) throw httpError.notFound();
    return { vhost, source, destination };
  };

  for (const kind of ["q", "e"] as const) {
    const base = `/api/bindings/:vhost/e/:source/${kind}/:destination`;

    api.get(base, (call) => {
      const { source, destination } = ends(call, kind);
      const rows = [...source.bindings.values()].filter((b) => b.destination === destination).map((b) => bindingJson(bindingView(b)));
      return listResponse(rows, call.query);
    });

    api.post(base, (call) => {
      const vhostName = call.params.vhost!;
      if (!canSeeVhost(broker, call.principal, vhostName) && broker.vhosts.has(vhostName)) throw httpError.notAuthorised("Access refused.");
      const vhost = broker.vhosts.get(vhostName);
      if (vhost === undefined) throw httpError.notFound();
      const source = vhost.exchanges.get(exchangeName(call.params.source!));
      const destination = kind === "q" ? vhost.queues.get(call.params.destination!) : vhost.exchanges.get(exchangeName(call.params.destination!));
      if (destination === undefined)
        throw new HttpError(404, "not_found", `no ${kind === "q" ? "queue" : "exchange"} '${call.params.destination}' in vhost '${vhostName}'`);
      if (source === undefined) throw new HttpError(404, "not_found", `no exchange '${call.params.source}' in vhost '${vhostName}'`);
      if (source.name === "" || destination.name === "") throw httpError.notAuthorised("Access refused.");
      const body = bodyObject(call.body);
      const routingKey = stringParam(body, "routing_key", "");
      const args = jsonToTable(objectParam(body, "arguments"), "arguments");
      requirePermission(broker, call.principal, vhostName, "write", destination.name);
      requirePermission(broker, call.principal, vhostName, "read", source.name);
      vhost.bind(source, destination, routingKey, args);
      // Relative to the request's path, as RabbitMQ writes it: "<destination>/<properties_key>", quoted once more.
      return created({ location: `${encodeURIComponent(call.params.destination!)}/${encodeURIComponent(propertiesKey(routingKey, args))}` });
    });

    api.get(`${base}/:props`, (call) => {
      const { source, destination } = ends(call, kind);
      const named = parsePropertiesKey(call.params.props!);
      const found = named && [...source.bindings.values()].find((b) => b.destination === destination && isNamedBy(named, b.routingKey, b.args));
      if (found === undefined) throw httpError.notFound();
      return objectResponse(bindingJson(bindingView(found)), call.query);
    });

    api.delete(`${base}/:props`, (call) => {
      const { vhost, source, destination } = ends(call, kind);
      const named = parsePropertiesKey(call.params.props!);
      const found = named && [...source.bindings.values()].find((b) => b.destination === destination && isNamedBy(named, b.routingKey, b.args));
      if (found === undefined) throw httpError.notFound();
      requirePermission(broker, call.principal, vhost.name, "write", destination.name);
      requirePermission(broker, call.principal, vhost.name, "read", source.name);
      vhost.unbind(source, destination, found.routingKey, found.args);
      return noContent();
    });
  }
}
