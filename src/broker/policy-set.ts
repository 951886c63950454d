import type { RE2JS } from "re2js";
import { compilePolicyPattern, type Policy } from "./policy-definition.js";
import type { QueueType } from "./queue-arguments.js";

/** What a policy is matched against: a queue (of a type) or an exchange, by name. */
export type PolicyTarget = { kind: "queue"; name: string; queueType: QueueType } | { kind: "exchange"; name: string };

const MIRRORING = ["ha-mode", "ha-params", "ha-sync-mode", "ha-promote-on-shutdown", "ha-promote-on-failure", "queue-master-locator"];

/**
 * The keys each queue type does not take (RabbitMQ 3.10's `unsupported_policies` capability): a
 * policy with any of them does not apply to a queue of that type at all, and the next matching
 * policy may apply instead.
 */
const UNSUPPORTED: Readonly<Record<QueueType, ReadonlySet<string>>> = {
  classic: new Set(["max-age", "stream-max-segment-size-bytes", "queue-leader-locator", "initial-cluster-size", "delivery-limit", "dead-letter-strategy"]),
  quorum: new Set(["max-priority", "queue-mode", "single-active-consumer", ...MIRRORING, "max-age", "stream-max-segment-size-bytes", "initial-cluster-size"]),
  stream: new Set([
    "expires",
    "message-ttl",
    "dead-letter-exchange",
    "dead-letter-routing-key",
    "max-length",
    "max-in-memory-length",
    "max-in-memory-bytes",
    "max-priority",
    "overflow",
    "queue-mode",
    "single-active-consumer",
    "delivery-limit",
    ...MIRRORING,
    "dead-letter-strategy",
  ]),
};

interface Entry {
  policy: Policy;
  pattern: RE2JS;
}

/** List order: priority, then name. The policy that applies is the last of the matching ones in this order. */
function listOrder(a: Policy, b: Policy): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * One vhost's policies of one kind (user policies, or operator policies), as RabbitMQ keeps its
 * policy runtime parameters: by name, each with a pattern matched against queue and exchange
 * names (an unanchored search, RE2 here), the kinds of object it applies to, and a priority.
 *
 * Of the policies that match an object, the one with the highest priority applies. RabbitMQ leaves
 * a tie to its table's hash order (the one `list_policies` shows last among them wins); Warren
 * breaks it by name, so the same rule holds: list() shows ties in name order, the last one applies.
 * A check of the policies by the caller (policy-definition.ts) comes first: set() takes them as given.
 */
export class PolicySet {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  get(name: string): Policy | undefined {
    return this.entries.get(name)?.policy;
  }

  /** Add or replace (by name) a checked policy. */
  set(policy: Policy): void {
    this.entries.set(policy.name, { policy, pattern: compilePolicyPattern(policy.pattern) });
  }

  /** Remove a policy; false when there was none of that name. */
  clear(name: string): boolean {
    return this.entries.delete(name);
  }

  /** Every policy, in list_policies' order (priority, then name). */
  list(): Policy[] {
    return [...this.entries.values()].map((e) => e.policy).sort(listOrder);
  }

  /** The policy that applies to a queue or exchange, or undefined when none does. */
  match(target: PolicyTarget): Policy | undefined {
    let best: Policy | undefined;
    for (const { policy, pattern } of this.entries.values()) {
      if (best !== undefined && listOrder(policy, best) < 0) continue;
      if (!appliesTo(policy, target) || !pattern.test(target.name)) continue;
      best = policy;
    }
    return best;
  }
}

function appliesTo(policy: Policy, target: PolicyTarget): boolean {
  if (policy.applyTo !== "all" && policy.applyTo !== (target.kind === "queue" ? "queues" : "exchanges")) return false;
  if (target.kind === "exchange") return true;
  const unsupported = UNSUPPORTED[target.queueType];
  for (const key of Object.keys(policy.definition)) if (unsupported.has(key)) return false;
  return true;
}
