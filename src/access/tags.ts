/**
 * A user's tags as RabbitMQ accepts them in definitions and the management API: a list of
 * strings, or one comma-separated string (older exports, rabbitmqadmin). Nothing given is no
 * tags; undefined when the value is neither, so the caller can refuse it in its own words.
 */
export function parseTags(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === "") return [];
  if (typeof v === "string")
    return v
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== "");
  if (Array.isArray(v) && v.every((t) => typeof t === "string")) return v as string[];
  return undefined;
}
