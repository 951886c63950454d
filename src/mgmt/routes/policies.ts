/**
 * /api/policies and /api/operator-policies: the vhosts' policy sets (src/broker/policy-set.ts)
 * as RabbitMQ's management API shows and changes them. Any management user reads those of the
 * vhosts it can see (as RabbitMQ 3.10); policies are changed by policymakers and administrators,
 * operator policies by administrators only. A definition is checked as `warrenctl set_policy`
 * checks it, and refused with RabbitMQ's "Validation failed" text as a 400.
 */
import type { Broker } from "../../broker/broker.js";
import type { JsonTerm } from "../../broker/json-term.js";
import { checkPolicy, PolicyError, sortedDefinition, type ApplyTo, type Policy, type PolicyKind } from "../../broker/policy-definition.js";
import { type ApiRouter, created, noContent } from "../api.js";
import { canSeeVhost, type Principal, requireAdministrator, requireVhostAccess } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";
import { type Item, listResponse, objectResponse } from "../listing.js";
import { bodyObject, intParam, stringParam } from "../params.js";

/** A policy as the API shows it. */
function policyJson(p: Policy): Item {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, "apply-to": p.applyTo, definition: p.definition, priority: p.priority };
}

const ROUTES: ReadonlyArray<{ path: string; kind: PolicyKind; requireTag: (p: Principal) => void }> = [
  { path: "policies", kind: "policy", requireTag: requirePolicymaker },
  { path: "operator-policies", kind: "operator_policy", requireTag: requireAdministrator },
];

function requirePolicymaker(p: Principal): void {
  if (!p.isPolicymaker && !p.isAdministrator) throw httpError.notAuthorised("User not authorised to access object");
}

function policiesIn(broker: Broker, kind: PolicyKind, vhosts: Iterable<string>): Item[] {
  const out: Item[] = [];
  for (const name of vhosts) {
    const vhost = broker.vhosts.get(name);
    if (vhost !== undefined) for (const p of vhost.policySet(kind).list()) out.push(policyJson(p));
  }
  return out;
}

export function registerPolicyRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;
  for (const { path, kind, requireTag } of ROUTES) {
    api.get(`/api/${path}`, (call) => {
      const visible = [...broker.vhosts.keys()].filter((v) => canSeeVhost(broker, call.principal, v));
      return listResponse(policiesIn(broker, kind, visible), call.query);
    });

    api.get(`/api/${path}/:vhost`, (call) => {
      requireVhostAccess(broker, call.principal, call.params.vhost!);
      return listResponse(policiesIn(broker, kind, [call.params.vhost!]), call.query);
    });

    api.get(`/api/${path}/:vhost/:name`, (call) => {
      // One policy is for those who may change it (RabbitMQ 3.10); the lists are for every management user.
      requireTag(call.principal);
      requireVhostAccess(broker, call.principal, call.params.vhost!);
      const policy = broker.vhosts.get(call.params.vhost!)!.policySet(kind).get(call.params.name!);
      if (policy === undefined) throw httpError.notFound();
      return objectResponse(policyJson(policy), call.query);
    });

    api.put(`/api/${path}/:vhost/:name`, (call) => {
      requireTag(call.principal);
      const vhostName = call.params.vhost!;
      const name = call.params.name!;
      requireVhostAccess(broker, call.principal, vhostName, true);
      const vhost = broker.vhosts.get(vhostName)!;
      const body = bodyObject(call.body);
      const pattern = stringParam(body, "pattern");
      const applyTo = stringParam(body, "apply-to", "all");
      const priority = intParam(body, "priority", 0);
      const definition = (body.definition ?? {}) as JsonTerm;
      try {
        checkPolicy(kind, { pattern, definition, priority, applyTo });
      } catch (err) {
        if (err instanceof PolicyError) throw httpError.badRequest(err.message);
        throw err;
      }
      const existed = vhost.policySet(kind).get(name) !== undefined;
      vhost.setPolicy(kind, { vhost: vhostName, name, pattern, applyTo: applyTo as ApplyTo, definition: sortedDefinition(definition), priority });
      ctx.log.info({ event: `management.${kind}_set`, vhost: vhostName, name, user: call.principal.user.name }, `set ${kind.replace("_", " ")}`);
      return existed ? noContent() : created();
    });

    api.delete(`/api/${path}/:vhost/:name`, (call) => {
      requireTag(call.principal);
      requireVhostAccess(broker, call.principal, call.params.vhost!, true);
      if (!broker.vhosts.get(call.params.vhost!)!.clearPolicy(kind, call.params.name!)) throw httpError.notFound();
      ctx.log.info(
        { event: `management.${kind}_cleared`, vhost: call.params.vhost, name: call.params.name, user: call.principal.user.name },
        `cleared ${kind.replace("_", " ")}`,
      );
      return noContent();
    });
  }
}
