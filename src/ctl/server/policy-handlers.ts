/**
 * The broker side of warrenctl's policy commands: set_policy, clear_policy, list_policies and
 * their operator_policy twins, checked and answered as RabbitMQ 3.10 does (rabbit_policy and its
 * runtime-parameter validation: src/broker/policy-definition.ts).
 */
import {
  checkPolicy,
  formatDefinition,
  parsePolicyDefinition,
  PolicyError,
  sortedDefinition,
  type ApplyTo,
  type PolicyKind,
} from "../../broker/policy-definition.js";
import type { Listing } from "../protocol.js";
import { ControlError } from "./control-error.js";
import type { ControlContext } from "./handlers.js";

type Args = Record<string, unknown>;

function str(args: Args, key: string): string {
  const v = args[key];
  if (typeof v !== "string") throw new ControlError("bad_argument", `'${key}' must be a string`);
  return v;
}

/** list_policies' columns, as rabbitmqctl prints them. */
export const POLICY_COLUMNS = ["vhost", "name", "pattern", "apply-to", "definition", "priority"];

function setPolicy(kind: PolicyKind) {
  return (ctx: ControlContext, args: Args): null => {
    const vhostName = str(args, "vhost");
    const name = str(args, "name");
    const pattern = str(args, "pattern");
    const applyTo = typeof args.applyTo === "string" ? args.applyTo : "all";
    const priority = typeof args.priority === "number" && Number.isFinite(args.priority) ? args.priority : 0;
    try {
      // RabbitMQ's order: the JSON, then every check, then whether the vhost exists.
      const definition = parsePolicyDefinition(str(args, "definition"));
      checkPolicy(kind, { pattern, definition, priority, applyTo });
      const vhost = ctx.broker.vhosts.get(vhostName);
      if (vhost === undefined) throw new ControlError("no_such_vhost", `Virtual host '${vhostName}' does not exist`, vhostName);
      vhost.setPolicy(kind, { vhost: vhostName, name, pattern, applyTo: applyTo as ApplyTo, definition: sortedDefinition(definition), priority });
    } catch (err) {
      if (err instanceof PolicyError) throw new ControlError("invalid_policy", err.message);
      throw err;
    }
    ctx.log.info(
      { event: `${kind}.set`, vhost: vhostName, name, pattern, applyTo, priority },
      `set ${kind.replace("_", " ")} '${name}' in vhost '${vhostName}'`,
    );
    return null;
  };
}

function clearPolicy(kind: PolicyKind) {
  return (ctx: ControlContext, args: Args): null => {
    const vhostName = str(args, "vhost");
    const name = str(args, "name");
    // A vhost that does not exist has no parameter either, and rabbitmqctl says only that.
    if (ctx.broker.vhosts.get(vhostName)?.clearPolicy(kind, name) !== true) throw new ControlError("no_such_parameter", "Parameter does not exist");
    ctx.log.info({ event: `${kind}.cleared`, vhost: vhostName, name }, `cleared ${kind.replace("_", " ")} '${name}' in vhost '${vhostName}'`);
    return null;
  };
}

function listPolicies(kind: PolicyKind) {
  return (ctx: ControlContext, args: Args): Listing => {
    const vhostName = str(args, "vhost");
    const vhost = ctx.broker.vhosts.get(vhostName);
    if (vhost === undefined) throw new ControlError("no_such_vhost", `Virtual host '${vhostName}' does not exist`, vhostName);
    const rows = vhost
      .policySet(kind)
      .list()
      .map((p) => [p.vhost, p.name, p.pattern, p.applyTo, formatDefinition(p.definition), p.priority]);
    return { keys: POLICY_COLUMNS, rows };
  };
}

export const policyHandlers = {
  set_policy: setPolicy("policy"),
  set_operator_policy: setPolicy("operator_policy"),
  clear_policy: clearPolicy("policy"),
  clear_operator_policy: clearPolicy("operator_policy"),
  list_policies: listPolicies("policy"),
  list_operator_policies: listPolicies("operator_policy"),
};
