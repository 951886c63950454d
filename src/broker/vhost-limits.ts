import { erlangJson, type JsonTerm } from "./json-term.js";
/**
 * A vhost's limits, as RabbitMQ keeps them: the JSON object given to `set_vhost_limits` (its
 * "vhost-limits" runtime parameter), with the keys "max-connections" and "max-queues". A negative
 * value means no limit; 0 allows none.
 */
export interface VhostLimits {
  "max-connections"?: number;
  "max-queues"?: number;
}

export const LIMIT_KEYS = ["max-connections", "max-queues"] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];

/** Limits that RabbitMQ's parameter validation refuses; the message is its text. */
export class VhostLimitsError extends Error {}

/** An Erlang rendering of a decoded JSON value, as RabbitMQ's validation messages print it. */
function erlangTerm(v: unknown): string {
  return erlangJson(v as JsonTerm);
}

/** Check limits decoded from JSON (a definitions file, the control socket) and keep the known keys. */
export function validateVhostLimits(value: unknown): VhostLimits {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new VhostLimitsError(`Validation failed\n\nlimits should be a map, actually was ${erlangTerm(value)}\n`);
  }
  const entries = Object.entries(value);
  const unknown = entries.filter(([k]) => !(LIMIT_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new VhostLimitsError(
      `Validation failed\n\nUnrecognised terms [${unknown.map(([k, v]) => `{<<${JSON.stringify(k)}>>,${erlangTerm(v)}}`).join(",")}] in limits\n`,
    );
  }
  const limits: VhostLimits = {};
  for (const [k, v] of entries) {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) {
      throw new VhostLimitsError(`Validation failed\n\n${k} should be a number, actually was ${erlangTerm(v)}\n`);
    }
    limits[k as LimitKey] = v;
  }
  return limits;
}

/** Parse set_vhost_limits' definition argument. */
export function parseVhostLimits(json: string): VhostLimits {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new VhostLimitsError("JSON decoding error. Reason: badarg");
  }
  return validateVhostLimits(value);
}

/** The limits as RabbitMQ prints them: JSON with the keys in order. */
export function formatVhostLimits(limits: VhostLimits): string {
  const sorted: Record<string, number> = {};
  for (const key of Object.keys(limits).sort()) sorted[key] = limits[key as LimitKey]!;
  return JSON.stringify(sorted);
}

/** The limit in force for one key: undefined when there is none (unset or negative). */
export function limitOf(limits: VhostLimits | undefined, key: LimitKey): number | undefined {
  const v = limits?.[key];
  return v === undefined || v < 0 ? undefined : v;
}
