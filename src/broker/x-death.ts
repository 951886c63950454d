import { arrayTypes, tableTypes, writtenTypeLetter, type FieldArray, type FieldTable, type FieldValue } from "../amqp/field-types.js";

/** One dead-lettering of a message, as x-death records it. */
export interface Death {
  /** rejected, expired, maxlen or delivery_limit. */
  reason: string;
  /** The queue the message left. */
  queue: string;
  /** The exchange the message was published to (before this dead-lettering). */
  exchange: string;
  /** Its routing key, then the CC and BCC keys its headers carry. */
  routingKeys: string[];
  /** The expiration property it had, if any (it is removed from the dead-lettered message). */
  originalExpiration: string | undefined;
  time: Date;
}

/** A table entry with its wire type letter, as RabbitMQ's Erlang code holds one: {Key, Type, Value}. */
type Entry = [key: string, value: FieldValue, type: string];

/**
 * The headers of a message dead-lettered with `death`, as RabbitMQ 3.10 writes them
 * (rabbit_dead_letter:update_x_death_header), quirks included, since clients read them:
 * - the first death adds x-first-death-reason, -queue and -exchange, and an x-death array of one
 *   table whose keys are in the order count, reason, queue, time, exchange, routing-keys,
 *   original-expiration;
 * - a later death for a (queue, reason) already in x-death increments that entry's count (its
 *   time, exchange and routing keys stay those of the first time) and moves it to the front; a
 *   new (queue, reason) goes to the front; either way the front entry's keys are sorted;
 * - with two or more entries before, the others come back in reverse order (RabbitMQ groups them
 *   by (queue, reason) with a fold that reverses the list);
 * - setting a header sorts the whole headers table by key.
 * Values keep their wire types; count is a long, time a timestamp (seconds).
 */
export function recordDeath(headers: FieldTable | undefined, death: Death): FieldTable {
  const info: Entry[] = [
    ["reason", death.reason, "S"],
    ["queue", death.queue, "S"],
    ["time", death.time, "T"],
    ["exchange", death.exchange, "S"],
    ["routing-keys", stringArray(death.routingKeys), "A"],
  ];
  if (death.originalExpiration !== undefined) info.push(["original-expiration", death.originalExpiration, "S"]);
  let h = headers === undefined ? [] : entriesOf(headers);
  const existing = lookup(h, "x-death");
  if (existing === undefined) {
    h = setValue(h, "x-first-death-reason", death.reason, "S");
    h = setValue(h, "x-first-death-queue", death.queue, "S");
    h = setValue(h, "x-first-death-exchange", death.exchange, "S");
    h = setValue(h, "x-death", tableArray([tableOf([["count", 1, "l"], ...info])]), "A");
  } else if (existing[2] === "A" && Array.isArray(existing[1])) {
    const grouped = groupByQueueAndReason(tablesIn(existing[1]));
    const match = grouped.find((t) => isFor(t, death.queue, death.reason));
    const others = grouped.filter((t) => t !== match);
    const front = match === undefined ? [["count", 1, "l"] as Entry, ...info] : incrementCount(entriesOf(match));
    h = setValue(h, "x-death", tableArray([tableOf(sortEntries(front)), ...others]), "A");
  } else {
    // Not an array (a client re-published it as something else): started again, as RabbitMQ does.
    h = setValue(h, "x-death", tableArray([tableOf([["count", 1, "l"], ...info])]), "A");
  }
  return tableOf(h);
}

/**
 * Whether dead-lettering into `queue` would close a cycle with no rejection in it (RabbitMQ 3.10's
 * rabbit_dead_letter:is_cycle): the x-death entries up to and including the first one for `queue`
 * all have reasons other than rejected. Such a message is dropped instead of going round again.
 */
export function isAutomaticCycle(deaths: FieldValue | undefined, queue: string): boolean {
  if (!Array.isArray(deaths)) return false;
  const found = deaths.findIndex((d) => isTable(d) && d.queue === queue);
  if (found < 0) return false;
  for (let i = 0; i <= found; i++) {
    const d = deaths[i];
    // Something a client must have put there: the cycle is not fully automatic.
    if (!isTable(d)) return false;
    if (d.reason === "rejected" && typeOf(d, "reason") === "S") return false;
  }
  return true;
}

/** The CC and BCC routing keys of a message's headers (longstr elements of arrays), CC first. */
export function headerRoutes(headers: FieldTable | undefined): string[] {
  const keys: string[] = [];
  if (headers === undefined) return keys;
  for (const name of ["CC", "BCC"]) {
    const routes = headers[name];
    if (!Array.isArray(routes)) continue;
    const types = arrayTypes.get(routes);
    routes.forEach((route, i) => {
      if (typeof route === "string" && (types === undefined || types[i] === "S")) keys.push(route);
    });
  }
  return keys;
}

function isTable(v: FieldValue | undefined): v is FieldTable {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date) && Object.getPrototypeOf(v) === Object.prototype
  );
}

function typeOf(table: FieldTable, key: string): string {
  return tableTypes.get(table)?.[key] ?? writtenTypeLetter(table[key]!);
}

function isFor(table: FieldTable, queue: FieldValue | undefined, reason: FieldValue | undefined): boolean {
  return table.queue === queue && table.reason === reason;
}

function tablesIn(array: FieldArray): FieldTable[] {
  return array.filter(isTable);
}

/**
 * rabbit_dead_letter:group_by_queue_and_reason: one entry per (queue, reason), the first of each
 * (given a count of how many there were when it has none), in reverse order of first appearance.
 */
function groupByQueueAndReason(tables: FieldTable[]): FieldTable[] {
  if (tables.length <= 1) return tables;
  const seen = new Set<string>();
  let grouped: FieldTable[] = [];
  for (const table of tables) {
    const matches = tables.filter((t) => isFor(t, table.queue, table.reason));
    const key = JSON.stringify([String(table.queue), String(table.reason)]);
    const augmented = ensureCount(matches[0]!, matches.length);
    if (grouped.length === 0) grouped = [augmented];
    else if (!seen.has(key)) grouped = [augmented, ...grouped];
    seen.add(key);
  }
  return grouped;
}

function ensureCount(table: FieldTable, count: number): FieldTable {
  if (table.count !== undefined) return table;
  return tableOf([["count", count, "l"], ...entriesOf(table)]);
}

function incrementCount(entries: Entry[]): Entry[] {
  const i = entries.findIndex(([key]) => key === "count");
  if (i < 0) return [["count", 1, "l"], ...entries];
  const n = entries[i]![1];
  const next = typeof n === "number" || typeof n === "bigint" ? Number(n) + 1 : 1;
  const out = entries.slice();
  out[i] = ["count", next, "l"];
  return out;
}

function entriesOf(table: FieldTable): Entry[] {
  return Object.keys(table).map((key) => [key, table[key]!, typeOf(table, key)]);
}

function lookup(entries: Entry[], key: string): Entry | undefined {
  return entries.find(([k]) => k === key);
}

/** rabbit_misc:set_table_value: replace (or append) the entry, then sort the table by key. */
function setValue(entries: Entry[], key: string, value: FieldValue, type: string): Entry[] {
  const out = entries.slice();
  const i = out.findIndex(([k]) => k === key);
  if (i < 0) out.push([key, value, type]);
  else out[i] = [key, value, type];
  return sortEntries(out);
}

/** Keys in byte order, as Erlang sorts binaries. */
function sortEntries(entries: Entry[]): Entry[] {
  return entries.slice().sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function tableOf(entries: Entry[]): FieldTable {
  const table: FieldTable = {};
  const types: Record<string, string> = {};
  for (const [key, value, type] of entries) {
    // defineProperty: a "__proto__" key stays an entry.
    Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(types, key, { value: type, enumerable: true, writable: true, configurable: true });
  }
  tableTypes.set(table, types);
  return table;
}

function tableArray(tables: FieldTable[]): FieldArray {
  const array: FieldArray = tables;
  arrayTypes.set(array, "F".repeat(tables.length));
  return array;
}

function stringArray(strings: string[]): FieldArray {
  const array: FieldArray = strings.slice();
  arrayTypes.set(array, "S".repeat(strings.length));
  return array;
}
