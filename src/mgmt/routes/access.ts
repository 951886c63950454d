/**
 * /api/vhosts, /api/users, /api/permissions, /api/topic-permissions: the access model
 * (src/access) as RabbitMQ's management API reads and changes it. Changes need administrator.
 */
import { patternProblem } from "../../access/pattern.js";
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isHashingAlgorithm } from "../../access/password.js";
import { type LimitKey, validateVhostLimits, type VhostLimits, VhostLimitsError } from "../../broker/vhost-limits.js";
import { type ApiRouter, created, noContent, Reply } from "../api.js";
import { type Principal, requireAdministrator, requireVhostAccess, visibleVhosts } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { HttpError, httpError } from "../http-error.js";
import { parseTags } from "../../access/tags.js";
import { type Item, listResponse, objectResponse } from "../listing.js";
import { type Body, bodyObject, boolParam, stringParam } from "../params.js";
import { type SampleRanges, sampleRanges } from "../sample-range.js";

export function registerAccessRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  // ---- vhosts ----

  const vhostJson = (name: string, ranges: SampleRanges = {}): Item => {
    const v = broker.vhosts.get(name)!;
    let [messages, ready, unacked] = [0, 0, 0];
    for (const q of v.queues.values()) {
      ready += q.messageCount;
      unacked += q.unacked;
    }
    messages = ready + unacked;
    const depth = ctx.rates.vhostDepthDetails(name, ranges.lengths);
    const data = ctx.rates.vhostDataDetails(name, ranges.dataRates);
    let recv = 0;
    let send = 0;
    for (const c of ctx.connections) {
      if (c.vhost !== v) continue;
      recv += c.socket.bytesRead;
      send += c.socket.bytesWritten;
    }
    const out: Item = {
      cluster_state: { [ctx.ids.node]: "running" },
      default_queue_type: "undefined",
      description: v.metadata.description,
    };
    const stats = ctx.rates.vhostStats(name, ranges.msgRates);
    if (Object.keys(stats).length > 0) out.message_stats = stats;
    Object.assign(out, {
      messages,
      messages_details: depth.messages,
      messages_ready: ready,
      messages_ready_details: depth.ready,
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: depth.unacked,
      metadata: { description: v.metadata.description, tags: [...v.metadata.tags] },
      name,
      recv_oct: recv,
      recv_oct_details: data.recv,
      send_oct: send,
      send_oct_details: data.send,
      tags: [...v.metadata.tags],
      tracing: false,
    });
    return out;
  };

  api.get("/api/vhosts", (call) =>
    listResponse(
      visibleVhosts(broker, call.principal).map((name) => vhostJson(name, sampleRanges(call.query))),
      call.query,
      ["name"],
    ),
  );

  api.get("/api/vhosts/:vhost", (call) => {
    // One vhost is for administrators in RabbitMQ 3.10 (the list is for every management user).
    requireAdministrator(call.principal);
    const name = call.params.vhost!;
    if (!broker.vhosts.has(name)) throw httpError.notFound();
    return objectResponse(vhostJson(name, sampleRanges(call.query)), call.query);
  });

  api.put("/api/vhosts/:vhost", (call) => {
    requireAdministrator(call.principal);
    const name = call.params.vhost!;
    const body = bodyObject(call.body);
    const description = stringParam(body, "description", "");
    const tags = tagList(body.tags);
    boolParam(body, "tracing", false); // checked as RabbitMQ does; Warren has no tracing
    const existing = broker.vhosts.get(name);
    if (existing !== undefined) {
      existing.metadata = { description, tags };
      return noContent();
    }
    broker.addVhost(name, { description, tags });
    // As RabbitMQ: the administrator who creates a vhost gets full permissions on it.
    broker.permissions.set(call.principal.user.name, name, ".*", ".*", ".*");
    ctx.log.info({ event: "management.vhost_created", vhost: name, user: call.principal.user.name }, "vhost created");
    return created();
  });

  api.delete("/api/vhosts/:vhost", (call) => {
    requireAdministrator(call.principal);
    const name = call.params.vhost!;
    if (!broker.vhosts.has(name)) throw httpError.notFound();
    for (const c of [...ctx.connections]) if (c.isRunning && c.vhost?.name === name) c.forceClose(`vhost '${name}' is deleted`);
    broker.deleteVhost(name);
    return noContent();
  });

  api.get("/api/vhosts/:vhost/permissions", (call) => {
    requireAdministrator(call.principal);
    const vhost = call.params.vhost!;
    if (!broker.vhosts.has(vhost)) throw httpError.notFound();
    const rows = broker.permissions.list().filter((p) => p.vhost === vhost);
    return listResponse(
      rows.map(({ user, permission: p }) => ({ vhost, user, configure: p.configure, write: p.write, read: p.read })),
      call.query,
    );
  });

  api.get("/api/vhosts/:vhost/topic-permissions", (call) => {
    requireAdministrator(call.principal);
    const vhost = call.params.vhost!;
    if (!broker.vhosts.has(vhost)) throw httpError.notFound();
    return listResponse(
      topicPermissionRows().filter((p) => p.vhost === vhost),
      call.query,
    );
  });

  // ---- users ----

  const userJson = (name: string): Item => {
    const u = broker.users.get(name)!;
    return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: {} };
  };

  api.get("/api/users", (call) => {
    requireAdministrator(call.principal);
    return listResponse(
      broker.users.list().map((u) => userJson(u.name)),
      call.query,
      ["name"],
    );
  });

  api.get("/api/users/without-permissions", (call) => {
    requireAdministrator(call.principal);
    const withPermissions = new Set(broker.permissions.list().map((p) => p.user));
    return listResponse(
      broker.users
        .list()
        .filter((u) => !withPermissions.has(u.name))
        .map((u) => userJson(u.name)),
      call.query,
      ["name"],
    );
  });

  api.post("/api/users/bulk-delete", (call) => {
    requireAdministrator(call.principal);
    const users = bodyObject(call.body).users;
    if (!Array.isArray(users) || !users.every((u) => typeof u === "string")) throw httpError.badRequest("users must be a list of names");
    // In order, as RabbitMQ: a name that is no user stops the run with 400 (the ones before it are gone).
    for (const name of users as string[]) {
      if (broker.users.get(name) === undefined) throw httpError.badRequest(["no_such_user", name]);
      deleteUser(ctx, name);
    }
    return noContent();
  });

  api.get("/api/users/:user", (call) => {
    requireAdministrator(call.principal);
    if (broker.users.get(call.params.user!) === undefined) throw httpError.notFound();
    return objectResponse(userJson(call.params.user!), call.query);
  });

  api.put("/api/users/:user", (call) => {
    requireAdministrator(call.principal);
    const name = call.params.user!;
    const body = bodyObject(call.body);
    if (body.tags === undefined) throw httpError.badRequest("tags_not_present");
    const tags = tagList(body.tags);
    const existing = broker.users.get(name);
    const algorithm = stringParam(body, "hashing_algorithm", existing?.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM);
    if (!isHashingAlgorithm(algorithm)) throw httpError.badRequest(["unknown_hashing_algorithm", algorithm]);
    let passwordHash = existing?.passwordHash ?? "";
    if (typeof body.password === "string") passwordHash = hashPassword(body.password, undefined, algorithm);
    else if (typeof body.password_hash === "string") passwordHash = checkedHash(body.password_hash);
    else if (body.password !== undefined || body.password_hash !== undefined) throw httpError.badRequest("password must be a string");
    broker.users.put({ name, passwordHash, hashingAlgorithm: algorithm, tags });
    return existing === undefined ? created() : noContent();
  });

  api.delete("/api/users/:user", (call) => {
    requireAdministrator(call.principal);
    const name = call.params.user!;
    if (broker.users.get(name) === undefined) throw httpError.notFound();
    deleteUser(ctx, name);
    return noContent();
  });

  api.get("/api/users/:user/permissions", (call) => {
    requireAdministrator(call.principal);
    const user = call.params.user!;
    if (broker.users.get(user) === undefined) throw httpError.notFound();
    const rows = broker.permissions.list().filter((p) => p.user === user);
    return listResponse(
      rows.map(({ vhost, permission: p }) => ({ user, vhost, configure: p.configure, write: p.write, read: p.read })),
      call.query,
    );
  });

  api.get("/api/users/:user/topic-permissions", (call) => {
    requireAdministrator(call.principal);
    const user = call.params.user!;
    if (broker.users.get(user) === undefined) throw httpError.notFound();
    return listResponse(
      topicPermissionRows().filter((p) => p.user === user),
      call.query,
    );
  });

  // ---- permissions ----

  api.get("/api/permissions", (call) => {
    requireAdministrator(call.principal);
    return listResponse(
      broker.permissions.list().map(({ user, vhost, permission: p }) => ({ user, vhost, configure: p.configure, write: p.write, read: p.read })),
      call.query,
    );
  });

  api.get("/api/permissions/:vhost/:user", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user } = call.params as { vhost: string; user: string };
    const p = broker.permissions.get(user, vhost);
    if (p === undefined) throw httpError.notFound();
    return objectResponse({ user, vhost, configure: p.configure, write: p.write, read: p.read }, call.query);
  });

  api.put("/api/permissions/:vhost/:user", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user } = call.params as { vhost: string; user: string };
    const body = bodyObject(call.body);
    const missing = ["configure", "write", "read"].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw httpError.badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(",")}]`);
    const [configure, write, read] = [pattern(body, "configure"), pattern(body, "write"), pattern(body, "read")];
    if (!broker.vhosts.has(vhost) || broker.users.get(user) === undefined) throw httpError.badRequest("vhost_or_user_not_found");
    const existed = broker.permissions.get(user, vhost) !== undefined;
    broker.permissions.set(user, vhost, configure, write, read);
    return existed ? noContent() : created();
  });

  api.delete("/api/permissions/:vhost/:user", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user } = call.params as { vhost: string; user: string };
    if (broker.permissions.get(user, vhost) === undefined) throw httpError.notFound();
    broker.permissions.clear(user, vhost);
    return noContent();
  });

  // ---- topic permissions ----

  const topicPermissionRows = (): Item[] =>
    broker.topicPermissions.list().map((p) => ({ user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read }));

  api.get("/api/topic-permissions", (call) => {
    requireAdministrator(call.principal);
    return listResponse(topicPermissionRows(), call.query);
  });

  api.get("/api/topic-permissions/:vhost/:user", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user } = call.params as { vhost: string; user: string };
    const rows = topicPermissionRows().filter((p) => p.vhost === vhost && p.user === user);
    if (rows.length === 0) throw httpError.notFound();
    return listResponse(rows, call.query);
  });

  api.put("/api/topic-permissions/:vhost/:user", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user } = call.params as { vhost: string; user: string };
    const body = bodyObject(call.body);
    const missing = ["exchange", "write", "read"].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw httpError.badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(",")}]`);
    const exchange = stringParam(body, "exchange");
    const [write, read] = [pattern(body, "write"), pattern(body, "read")];
    if (!broker.vhosts.has(vhost) || broker.users.get(user) === undefined) throw httpError.badRequest("vhost_or_user_not_found");
    const existed = broker.topicPermissions.forVhost(user, vhost)?.has(exchange) === true;
    broker.topicPermissions.set(user, vhost, exchange, write, read);
    return existed ? noContent() : created();
  });

  api.delete("/api/topic-permissions/:vhost/:user", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user } = call.params as { vhost: string; user: string };
    if (broker.topicPermissions.forVhost(user, vhost) === undefined) throw httpError.notFound();
    broker.topicPermissions.clear(user, vhost);
    return noContent();
  });

  api.delete("/api/topic-permissions/:vhost/:user/:exchange", (call) => {
    requireAdministrator(call.principal);
    const { vhost, user, exchange } = call.params as { vhost: string; user: string; exchange: string };
    if (broker.topicPermissions.forVhost(user, vhost)?.has(exchange) !== true) throw httpError.notFound();
    broker.topicPermissions.clear(user, vhost, exchange);
    return noContent();
  });

  // ---- vhost limits ----

  api.get("/api/vhost-limits", (call) => listResponse(limitRows(ctx, call.principal, true), call.query));
  api.get("/api/vhost-limits/:vhost", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listResponse(
      limitRows(ctx, call.principal, false).filter((r) => r.vhost === call.params.vhost),
      call.query,
    );
  });

  // One limit is set and cleared, not read: RabbitMQ answers GET with 405.
  api.get("/api/vhost-limits/:vhost/:name", () => new Reply(405, undefined, { allow: "PUT, DELETE, OPTIONS" }));

  api.put("/api/vhost-limits/:vhost/:name", (call) => {
    requireAdministrator(call.principal);
    const { vhost: name, name: key } = call.params as { vhost: string; name: string };
    const vhost = broker.vhosts.get(name);
    if (vhost === undefined) throw new HttpError(404, "not_found", "vhost_not_found");
    const body = bodyObject(call.body);
    if (body.value === undefined) throw httpError.badRequest("[{key_missing,value}]");
    let limits: VhostLimits;
    try {
      limits = validateVhostLimits({ ...vhost.limits, [key]: body.value });
    } catch (err) {
      if (err instanceof VhostLimitsError) throw httpError.badRequest(err.message);
      throw err;
    }
    vhost.setLimits(limits);
    ctx.log.info(
      { event: "management.vhost_limit_set", vhost: name, limit: key, value: limits[key as LimitKey], user: call.principal.user.name },
      "vhost limit set",
    );
    return noContent();
  });

  api.delete("/api/vhost-limits/:vhost/:name", (call) => {
    requireAdministrator(call.principal);
    const { vhost: name, name: key } = call.params as { vhost: string; name: string };
    const vhost = broker.vhosts.get(name);
    // RabbitMQ 3.10 answers a missing vhost with a 500 (a crash in its handler); Warren with a 404.
    if (vhost === undefined) throw httpError.notFound();
    const limits = vhost.limits;
    if (limits !== undefined && key in limits) {
      // As RabbitMQ: the vhost keeps its (now perhaps empty) limits parameter.
      const rest: VhostLimits = { ...limits };
      delete rest[key as LimitKey];
      vhost.setLimits(rest);
      ctx.log.info({ event: "management.vhost_limit_cleared", vhost: name, limit: key, user: call.principal.user.name }, "vhost limit cleared");
    }
    return noContent();
  });
}

/**
 * The vhosts' limits as RabbitMQ lists them. A vhost whose last limit was cleared through the API
 * keeps an empty parameter: the list of every vhost shows it with `"value": []`, a vhost's own
 * list leaves it out.
 */
function limitRows(ctx: ManagementContext, p: Principal, withEmpty: boolean): Item[] {
  return visibleVhosts(ctx.broker, p)
    .map((name) => ({ name, limits: ctx.broker.vhosts.get(name)!.limits }))
    .filter((v) => v.limits !== undefined && (withEmpty || Object.keys(v.limits).length > 0))
    .map((v) => ({ vhost: v.name, value: Object.keys(v.limits!).length === 0 ? [] : { ...v.limits } }));
}

/** Delete a user as RabbitMQ does: its permissions go, its connections are closed. */
function deleteUser(ctx: ManagementContext, name: string): void {
  ctx.broker.users.delete(name);
  ctx.broker.permissions.forgetUser(name);
  ctx.broker.topicPermissions.forgetUser(name);
  for (const c of [...ctx.connections]) if (c.isRunning && c.username === name) c.forceClose(`user '${name}' is deleted`);
}

/** Tags as a list or one comma-separated string (RabbitMQ takes both). */
function tagList(v: unknown): string[] {
  const tags = parseTags(v);
  if (tags === undefined) throw httpError.badRequest("tags must be a list of strings or a comma-separated string");
  return tags;
}

function pattern(body: Body, key: string): string {
  const v = stringParam(body, key);
  const why = patternProblem(v);
  if (why !== undefined) throw httpError.badRequest(["invalid_regexp", v, why]);
  return v;
}

/** A password hash as given (base64 of salt and digest); RabbitMQ refuses what is not base64. */
function checkedHash(hash: string): string {
  if (hash === "") return "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(hash) || hash.length % 4 !== 0) throw httpError.badRequest(["not_base64", hash]);
  return hash;
}
