/**
 * /api/connections, /api/channels, /api/consumers. Monitors and administrators see every
 * connection; other users their own (RabbitMQ's rule). DELETE closes a connection with 320
 * CONNECTION_FORCED, "Closed via management plugin" or the request's X-Reason header.
 */
import type { Consumer } from "../../broker/consumer.js";
import type { Channel } from "../../server/channel.js";
import type { Connection } from "../../server/connection.js";
import { type ApiCall, type ApiRouter, noContent } from "../api.js";
import { canSeeVhost, type Principal, requireVhostAccess } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";
import { listResponse, objectResponse } from "../listing.js";
import { channelJson, channelName, connectionJson, consumerJson, forRequest } from "../shapes.js";

export function registerConnectionRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  const visibleConnections = (p: Principal, vhost?: string): Connection[] =>
    [...ctx.connections].filter((c) => c.user !== undefined && (p.isMonitor || c.username === p.user.name) && (vhost === undefined || c.vhost?.name === vhost));

  const channelsOf = (connections: Connection[]): Channel[] => connections.flatMap((c) => [...c.openChannels]);

  const connectionAt = (call: ApiCall): Connection => {
    const c = visibleConnections(call.principal).find((x) => x.name === call.params.connection);
    if (c === undefined) throw httpError.notFound();
    return c;
  };

  api.get("/api/connections", (call) =>
    listResponse(
      visibleConnections(call.principal).map((c) => connectionJson(c, forRequest(ctx, call.query))),
      call.query,
      ["name"],
    ),
  );

  api.get("/api/vhosts/:vhost/connections", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listResponse(
      visibleConnections(call.principal, call.params.vhost).map((c) => connectionJson(c, forRequest(ctx, call.query))),
      call.query,
      ["name"],
    );
  });

  api.get("/api/connections/:connection", (call) => objectResponse(connectionJson(connectionAt(call), forRequest(ctx, call.query)), call.query));

  api.delete("/api/connections/:connection", (call) => {
    const c = connectionAt(call);
    if (!call.principal.isAdministrator && c.username !== call.principal.user.name) throw httpError.notAuthorised("Not administrator user");
    const reason = call.headers["x-reason"];
    const text = typeof reason === "string" && reason !== "" ? reason : "Closed via management plugin";
    ctx.log.info({ event: "management.connection_closed", connection: c.name, user: call.principal.user.name, reason: text }, "closing connection");
    c.forceClose(text);
    return noContent();
  });

  api.get("/api/connections/:connection/channels", (call) => {
    const c = connectionAt(call);
    return listResponse(
      [...c.openChannels].map((ch) => channelJson(ch, forRequest(ctx, call.query))),
      call.query,
      ["name"],
    );
  });

  api.get("/api/channels", (call) =>
    listResponse(
      channelsOf(visibleConnections(call.principal)).map((ch) => channelJson(ch, forRequest(ctx, call.query))),
      call.query,
      ["name"],
    ),
  );

  api.get("/api/vhosts/:vhost/channels", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listResponse(
      channelsOf(visibleConnections(call.principal, call.params.vhost)).map((ch) => channelJson(ch, forRequest(ctx, call.query))),
      call.query,
      ["name"],
    );
  });

  api.get("/api/channels/:channel", (call) => {
    const ch = channelsOf(visibleConnections(call.principal)).find((x) => channelName(x) === call.params.channel);
    if (ch === undefined) throw httpError.notFound();
    const out = channelJson(ch, forRequest(ctx, call.query));
    out.consumer_details = consumersOf(ch).map((c) => consumerJson(c, ctx));
    out.deliveries = [];
    out.publishes = [];
    return objectResponse(out, call.query);
  });

  const consumers = (p: Principal, vhosts: string[]) =>
    vhosts
      .filter((v) => canSeeVhost(broker, p, v))
      .flatMap((v) => [...broker.vhosts.get(v)!.queues.values()].flatMap((q) => q.consumers.map((c) => consumerJson(c, ctx))));

  api.get("/api/consumers", (call) => listResponse(consumers(call.principal, [...broker.vhosts.keys()]), call.query));

  api.get("/api/consumers/:vhost", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listResponse(consumers(call.principal, [call.params.vhost!]), call.query);
  });

  /** A channel's consumers, found through the queues of its vhost. */
  function consumersOf(ch: Channel): Consumer[] {
    const vhost = ch.host.vhost;
    if (vhost === undefined) return [];
    return [...vhost.queues.values()].flatMap((q) => q.consumers.filter((c) => c.owner === ch));
  }
}
