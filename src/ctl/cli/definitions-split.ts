/**
 * Definitions too large for one control request (MAX_REQUEST_BYTES) are imported in parts, in
 * the order RabbitMQ imports them (users and vhosts first, bindings last), so that each part
 * refers only to what earlier parts or the broker already have. As with RabbitMQ's own import,
 * a part that fails leaves the parts before it imported.
 */

import { jsonText } from "../json-text.js";

/** The sections of a definitions file, in import order. */
const SECTION_ORDER = ["users", "vhosts", "permissions", "topic_permissions", "parameters", "global_parameters", "policies", "exchanges", "queues", "bindings"];

/**
 * Split `definitions` into objects whose JSON is at most about `maxBytes` each (a single entry
 * larger than that travels alone). Anything that is not a plain object, or fits, is one part.
 */
export function splitDefinitions(definitions: unknown, maxBytes: number): unknown[] {
  if (typeof definitions !== "object" || definitions === null || Array.isArray(definitions)) return [definitions];
  if (Buffer.byteLength(jsonText(definitions)) <= maxBytes) return [definitions];
  const input = definitions as Record<string, unknown>;
  const sections = [
    ...SECTION_ORDER.filter((k) => Array.isArray(input[k])),
    ...Object.keys(input).filter((k) => Array.isArray(input[k]) && !SECTION_ORDER.includes(k)),
  ];
  // Everything else (rabbit_version, ...) rides with the first part.
  const first: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (!sections.includes(k)) first[k] = v;

  const parts: Array<Record<string, unknown>> = [];
  let current = first;
  let size = Buffer.byteLength(jsonText(first));
  for (const section of sections) {
    for (const entry of input[section] as unknown[]) {
      const entrySize = Buffer.byteLength(jsonText(entry) ?? "null") + 1;
      const sectionOverhead = Array.isArray(current[section]) ? 0 : section.length + 6;
      if (size + entrySize + sectionOverhead > maxBytes && Object.keys(current).length > 0) {
        parts.push(current);
        current = {};
        size = 2;
      }
      let list = current[section] as unknown[] | undefined;
      if (list === undefined) {
        list = [];
        current[section] = list;
        size += section.length + 6;
      }
      list.push(entry);
      size += entrySize;
    }
  }
  parts.push(current);
  return parts;
}
