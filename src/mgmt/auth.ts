/**
 * Who is asking: HTTP basic auth against Warren's users, with RabbitMQ's management tags.
 *
 * As rabbit_mgmt_util: a user needs one of the tags management, policymaker, monitoring or
 * administrator to use the API at all ("Not management user"). monitoring sees every vhost,
 * connection and channel read-only, and the node; administrator may change anything; policymaker
 * (policies) and management see only the vhosts they have permissions on, and their own
 * connections. loopback_users may log in from loopback addresses only.
 */
import type { AccessKind } from "../access/permissions.js";
import type { User } from "../access/user-store.js";
import type { Broker } from "../broker/broker.js";
import { httpError } from "./http-error.js";

/** A logged-in user of the API and what its tags allow. */
export interface Principal {
  user: User;
  isAdministrator: boolean;
  isMonitor: boolean;
  isPolicymaker: boolean;
}

const MANAGEMENT_TAGS = new Set(["management", "policymaker", "monitoring", "administrator"]);

/** The principal for an Authorization header, or an HttpError as RabbitMQ answers it. */
export function authenticate(
  broker: Broker,
  loopbackUsers: readonly string[],
  authorization: string | undefined,
  remoteAddress: string | undefined,
): Principal {
  const credentials = basicCredentials(authorization);
  if (credentials === undefined) throw httpError.noCredentials();
  const user = broker.users.authenticate(credentials.username, credentials.password);
  if (user === undefined) throw httpError.loginFailed();
  if (loopbackUsers.includes(user.name) && !isLoopback(remoteAddress)) throw httpError.notAuthorised("User can only log in via localhost");
  if (!user.tags.some((t) => MANAGEMENT_TAGS.has(t))) throw httpError.notAuthorised("Not management user");
  const isAdministrator = user.tags.includes("administrator");
  return {
    user,
    isAdministrator,
    isMonitor: isAdministrator || user.tags.includes("monitoring"),
    isPolicymaker: isAdministrator || user.tags.includes("policymaker"),
  };
}

/** "Basic base64(user:password)" split; undefined when absent or not basic. */
function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** Only administrators: users, permissions, vhosts changes, definitions, nodes' details. */
export function requireAdministrator(p: Principal): void {
  if (!p.isAdministrator) throw httpError.notAuthorised("Not administrator user");
}

/** Administrators and monitoring users: nodes, every connection, the whole overview. */
export function requireMonitor(p: Principal): void {
  if (!p.isMonitor) throw httpError.notAuthorised("Not monitor user");
}

/** Whether the user may see a vhost: monitors see all, others those they hold permissions on. */
export function canSeeVhost(broker: Broker, p: Principal, vhost: string): boolean {
  return p.isMonitor || broker.permissions.get(p.user.name, vhost) !== undefined;
}

/** The vhosts the user may see, in the broker's order. */
export function visibleVhosts(broker: Broker, p: Principal): string[] {
  return [...broker.vhosts.keys()].filter((v) => canSeeVhost(broker, p, v));
}

/**
 * A vhost named in a path: 404 when it does not exist, 401 when the user has
 * no permissions on it (rabbit_mgmt_util:is_authorized_vhost; monitors may read any).
 */
export function requireVhostAccess(broker: Broker, p: Principal, vhost: string, forWriting = false): void {
  if (!broker.vhosts.has(vhost)) throw httpError.notFound();
  const allowed = broker.permissions.get(p.user.name, vhost) !== undefined || (!forWriting && p.isMonitor);
  if (!allowed) throw httpError.notAuthorised("User not authorised to access virtual host");
}

/**
 * A configure, write or read permission on a resource, as the AMQP channel checks it: what
 * RabbitMQ's management API checks by acting through a connection as the user (401 "Access refused.").
 */
export function requirePermission(broker: Broker, p: Principal, vhost: string, kind: AccessKind, name: string): void {
  requireVhostAccess(broker, p, vhost, true);
  if (broker.permissions.get(p.user.name, vhost)?.allows(kind, name) !== true) throw httpError.notAuthorised("Access refused.");
}
