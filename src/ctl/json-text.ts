/**
 * JSON text of a value of any depth. JSON.stringify recurses and throws RangeError near 5,000
 * levels; a client's field table can nest ~18,000 (src/amqp/field-types.ts, NestedBytes), and the
 * management API, the control socket and warrenctl print such tables. JSON.stringify does the
 * usual case; what it cannot, a loop with a stack of the containers open writes the same text.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return deepJsonText(value);
  }
}

/** A container being written: its entries, the next one, and how many were written. */
interface Open {
  array: boolean;
  entries: Array<[string, unknown]>;
  next: number;
  written: number;
}

/** A value as JSON.stringify sees it: through its toJSON when it has one. */
function prepared(v: unknown): unknown {
  return v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function" ? (v as { toJSON(): unknown }).toJSON() : v;
}

/** JSON.stringify's text for plain data (objects, arrays, toJSON, primitives), in a loop. */
export function deepJsonText(root: unknown): string {
  const parts: string[] = [];
  const open: Open[] = [];
  const write = (v: unknown): void => {
    if (v === null || typeof v !== "object") {
      parts.push(JSON.stringify(v) ?? "null");
      return;
    }
    const array = Array.isArray(v);
    parts.push(array ? "[" : "{");
    open.push({ array, entries: array ? (v as unknown[]).map((e): [string, unknown] => ["", e]) : Object.entries(v), next: 0, written: 0 });
  };
  write(prepared(root));
  while (open.length > 0) {
    const top = open[open.length - 1]!;
    if (top.next === top.entries.length) {
      parts.push(top.array ? "]" : "}");
      open.pop();
      continue;
    }
    const [key, raw] = top.entries[top.next++]!;
    const value = prepared(raw);
    // An object leaves out what JSON cannot hold; an array writes null for it (write does).
    if (!top.array && (value === undefined || typeof value === "function" || typeof value === "symbol")) continue;
    if (top.written++ > 0) parts.push(",");
    if (!top.array) parts.push(JSON.stringify(key), ":");
    write(value);
  }
  return parts.join("");
}
