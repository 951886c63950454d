/**
 * /api/connections, /api/channels, /api/consumers. Monitors and administrators see every
 * connection; other users their own (RabbitMQ's rule). DELETE closes a connection with 320
 * CONNECTION_FORCED, "Closed via management plugin" or the request's X-Reason header.
 */
import type { Consumer } from "../../broker/consumer.js";
import { Channel } from "../../server/channel.js";
import { Connection } from "../../server/connection.js";
import { type ApiCall, type ApiRouter, noContent } from "../api.js";
import { canSeeVhost, type Principal, requireVhostAccess } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";
import { listResponse, objectResponse } from "../listing.js";
import { channelJson, channelName, connectionJson, consumerJson, forRequest } from "../shapes.js";

const TLS_DETAILS = ["peer_cert_issuer", "peer_cert_subject", "peer_cert_validity", "ssl_cipher", "ssl_hash", "ssl_key_exchange", "ssl_protocol"];

export function registerConnectionRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  const isVisible = (p: Principal, c: Connection): boolean => p.isMonitor || c.username === p.user.name;
  const visibleConnections = (p: Principal, vhost?: string): Connection[] =>
    [...ctx.connections].filter((c) => c.user !== undefined && isVisible(p, c) && (vhost === undefined || c.vhost?.name === vhost));

  const channelsOf = (connections: Connection[]): Channel[] => connections.flatMap((c) => [...c.openChannels]);

  /** The connection a path names: 404 when there is none, 401 when it is another user's and the caller may not see it. */
  const connectionAt = (call: ApiCall): Connection => {
    const c = [...ctx.connections].find((x) => x.user !== undefined && x.name === call.params.connection);
    if (c === undefined) throw httpError.notFound();
    if (!isVisible(call.principal, c)) throw httpError.notAuthorised("User not authorised to access object");
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

  api.get("/api/connections/:connection", (call) => {
    const out = connectionJson(connectionAt(call), forRequest(ctx, call.query));
    // RabbitMQ 3.10 shows a plain connection's TLS details as null in lists and as "" here.
    for (const key of TLS_DETAILS) if (out[key] === null) out[key] = "";
    return objectResponse(out, call.query);
  });

  api.delete("/api/connections/:connection", (call) => {
    const c = connectionAt(call);
    if (!call.principal.isAdministrator && c.username !== call.principal.user.name) throw httpError.notAuthorised("User not authorised to access object");
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
    const ch = channelsOf([...ctx.connections].filter((c) => c.user !== undefined)).find((x) => channelName(x) === call.params.channel);
    if (ch === undefined) throw httpError.notFound();
    if (!(ch.host instanceof Connection) || !isVisible(call.principal, ch.host)) throw httpError.notAuthorised("User not authorised to access object");
    const out = channelJson(ch, forRequest(ctx, call.query));
    out.consumer_details = consumersOf(ch).map((c) => consumerJson(c, ctx));
    out.deliveries = [];
    out.publishes = [];
    return objectResponse(out, call.query);
  });

  /** Consumers on the vhosts the user sees; a user without the monitoring tag sees those of its own connections only. */
  const consumers = (p: Principal, vhosts: string[]) =>
    vhosts
      .filter((v) => canSeeVhost(broker, p, v))
      .flatMap((v) =>
        [...broker.vhosts.get(v)!.queues.values()].flatMap((q) =>
          q.consumers.filter((c) => p.isMonitor || (c.owner instanceof Channel && c.owner.host.username === p.user.name)).map((c) => consumerJson(c, ctx)),
        ),
      );

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
