/**
 * What the clients of a power-loss run know (what was confirmed, committed, acked), frozen at each
 * crash point, and the check of what a recovered broker gives back against it.
 */
import { createHash } from "node:crypto";

/** Transient messages: their ids start with "t", and none may survive a restart. */
export const isTransientId = (id: string): boolean => id.startsWith("t");

/** body = "<id>|<sha256 of id and padding>|<padding>", so a damaged or invented body shows. */
export function makeBody(id: string, paddingLength: number): Buffer {
  const padding = "x".repeat(paddingLength);
  const digest = createHash("sha256")
    .update(id + padding)
    .digest("hex");
  return Buffer.from(`${id}|${digest}|${padding}`);
}

/** The id of an intact body; throws on a damaged one. */
export function checkBody(body: Buffer): string {
  const text = body.toString("latin1");
  const first = text.indexOf("|");
  const second = text.indexOf("|", first + 1);
  const id = text.slice(0, first);
  if (first <= 0 || second < 0) throw new Error(`malformed body ${JSON.stringify(text.slice(0, 60))}`);
  const digest = createHash("sha256")
    .update(id + text.slice(second + 1))
    .digest("hex");
  if (digest !== text.slice(first + 1, second)) throw new Error(`damaged body of ${id}`);
  return id;
}

/** What must and may come back from one crash image. */
export interface Expectation {
  /** Confirmed or committed (or recovered earlier, so on disk), and not acked: back exactly once. */
  mustHave: string[];
  /** Acked by a consumer before the crash: back at most once, and then marked redelivered. */
  acked: string[];
  /** A confirm arrived, so the durable exchange, queues and bindings declared before it exist. */
  definitions: boolean;
}

/** The clients' knowledge, updated as confirms and deliveries arrive. */
export class Ledger {
  /** On disk for certain: recovered in an earlier generation, or confirmed/committed since. */
  private readonly durable = new Set<string>();
  private readonly acked = new Set<string>();
  private definitions = false;

  /** What the image this generation started on held: its messages, and whether it had to hold the definitions. */
  recovered(ids: Iterable<string>, definitions: boolean): void {
    for (const id of ids) this.durable.add(id);
    this.definitions = definitions;
  }

  confirmed(id: string): void {
    if (!isTransientId(id)) this.durable.add(id);
    this.definitions = true;
  }

  ackSent(id: string): void {
    this.acked.add(id);
  }

  /** The expectation if the power failed now. */
  freeze(): Expectation {
    const mustHave: string[] = [];
    for (const id of this.durable) if (!this.acked.has(id)) mustHave.push(id);
    return { mustHave, acked: [...this.acked], definitions: this.definitions };
  }
}

/** One recovered message, as a consumer saw it. */
export interface Recovered {
  queue: string;
  body: Buffer;
  redelivered: boolean;
}

/**
 * Check what a recovered broker delivered against what was expected; returns the ids that came
 * back, or throws with every problem found.
 */
export function checkRecovered(expect: Expectation, messages: Recovered[], published: ReadonlySet<string>): Set<string> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const acked = new Set(expect.acked);
  for (const m of messages) {
    let id: string;
    try {
      id = checkBody(m.body);
    } catch (err) {
      problems.push(`${m.queue}: ${(err as Error).message}`);
      continue;
    }
    if (!published.has(id)) problems.push(`${m.queue}: ${id} was never published`);
    if (seen.has(id)) problems.push(`${m.queue}: ${id} came back twice`);
    if (isTransientId(id)) problems.push(`${m.queue}: transient message ${id} survived a restart`);
    if (acked.has(id) && !m.redelivered) problems.push(`${m.queue}: ${id} was acked before the crash and came back not marked redelivered`);
    seen.add(id);
  }
  const lost = expect.mustHave.filter((id) => !seen.has(id));
  if (lost.length > 0) problems.push(`${lost.length} confirmed message(s) lost, e.g. ${lost.slice(0, 5).join(", ")}`);
  if (problems.length > 0) throw new Error(problems.slice(0, 12).join("\n"));
  return seen;
}
