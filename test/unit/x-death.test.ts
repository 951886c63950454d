/**
 * Unit tests of the x-death bookkeeping (src/broker/x-death.ts) for the cases a broker test cannot
 * reach easily: wire types of what is written, legacy x-death arrays with duplicate entries, an
 * x-death that is not an array, and the cycle rule's edge cases. The rules are RabbitMQ 3.10's
 * rabbit_dead_letter; test/dead-letter.test.ts compares whole headers with RabbitMQ's.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { tableTypes, type FieldTable } from "../../src/amqp/field-types.js";
import { headerRoutes, isAutomaticCycle, recordDeath, type Death } from "../../src/broker/x-death.js";

const TIME = new Date(1_700_000_000_000);

function death(queue: string, reason = "expired", extra: Partial<Death> = {}): Death {
  return { reason, queue, exchange: "x", routingKeys: ["rk"], originalExpiration: undefined, time: TIME, ...extra };
}

/** Through the wire and back, as a client would see it (types kept in tableTypes). */
function roundTrip(table: FieldTable): FieldTable {
  const w = new AmqpWriter(1024);
  w.table(table);
  return new AmqpReader().reset(w.buf, 0, w.pos).table();
}

function deaths(headers: FieldTable): FieldTable[] {
  return headers["x-death"] as FieldTable[];
}

describe("recordDeath", () => {
  it("writes count as a long, time as a timestamp, the rest as longstrs", () => {
    const h = roundTrip(recordDeath(undefined, death("q1", "expired", { originalExpiration: "5000" })));
    assert.deepEqual(Object.keys(h), ["x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason"]);
    const [d] = deaths(h);
    assert.deepEqual(tableTypes.get(d!), { count: "l", reason: "S", queue: "S", time: "T", exchange: "S", "routing-keys": "A", "original-expiration": "S" });
    assert.equal((d!.time as Date).getTime(), TIME.getTime());
    assert.deepEqual(d!["routing-keys"], ["rk"]);
  });

  it("counts a (queue, reason) seen before, keeping its first time, and moves it to the front", () => {
    let h = roundTrip(recordDeath(undefined, death("q1")));
    h = roundTrip(recordDeath(h, death("q2")));
    h = roundTrip(recordDeath(h, death("q1", "expired", { time: new Date(TIME.getTime() + 60_000), exchange: "other" })));
    assert.deepEqual(
      deaths(h).map((d) => [d.queue, d.count, d.exchange, (d.time as Date).getTime()]),
      [
        ["q1", 2, "x", TIME.getTime()],
        ["q2", 1, "x", TIME.getTime()],
      ],
    );
    // Another reason for the same queue is another entry.
    h = roundTrip(recordDeath(h, death("q1", "maxlen")));
    assert.deepEqual(
      deaths(h).map((d) => `${d.queue}:${d.reason}:${d.count}`),
      ["q1:maxlen:1", "q2:expired:1", "q1:expired:2"],
    );
  });

  it("folds duplicate entries of an old x-death into one, counted when they had no count", () => {
    const old = roundTrip({
      "x-death": [
        { queue: "q1", reason: "expired" },
        { queue: "q2", reason: "expired" },
        { queue: "q1", reason: "expired" },
      ],
    });
    const h = roundTrip(recordDeath(old, death("q3")));
    assert.deepEqual(
      deaths(h).map((d) => `${d.queue}:${d.count}`),
      ["q3:1", "q2:1", "q1:2"],
    );
  });

  it("starts x-death again when it is not an array, and leaves x-first-death-* alone then", () => {
    const h = roundTrip(recordDeath(roundTrip({ "x-death": "garbage", other: 1 }), death("q1")));
    assert.deepEqual(
      deaths(h).map((d) => `${d.queue}:${d.count}`),
      ["q1:1"],
    );
    assert.equal(h["x-first-death-queue"], undefined);
    assert.deepEqual(Object.keys(h), ["other", "x-death"]);
  });
});

describe("isAutomaticCycle", () => {
  const entries = (...pairs: Array<[string, string]>) => roundTrip({ d: pairs.map(([queue, reason]) => ({ queue, reason })) }).d;

  it("a queue seen before with only automatic deaths since is a cycle", () => {
    assert.equal(isAutomaticCycle(entries(["q2", "expired"], ["q1", "maxlen"]), "q1"), true);
    assert.equal(isAutomaticCycle(entries(["q1", "expired"]), "q1"), true);
  });

  it("a rejection on the way, or up to the queue's own entry, breaks the cycle", () => {
    assert.equal(isAutomaticCycle(entries(["q2", "rejected"], ["q1", "expired"]), "q1"), false);
    assert.equal(isAutomaticCycle(entries(["q2", "expired"], ["q1", "rejected"]), "q1"), false);
    // Entries after the queue's own one do not matter.
    assert.equal(isAutomaticCycle(entries(["q1", "expired"], ["q0", "rejected"]), "q1"), true);
  });

  it("a queue not in x-death, or an entry that is not a table, is no cycle", () => {
    assert.equal(isAutomaticCycle(entries(["q2", "expired"]), "q1"), false);
    assert.equal(isAutomaticCycle(undefined, "q1"), false);
    assert.equal(isAutomaticCycle(roundTrip({ d: ["text", { queue: "q1", reason: "expired" }] }).d, "q1"), false);
  });
});

describe("headerRoutes", () => {
  it("the longstr elements of CC then BCC arrays; anything else is ignored", () => {
    assert.deepEqual(headerRoutes(roundTrip({ BCC: ["b1"], CC: ["c1", 5, "c2"] })), ["c1", "c2", "b1"]);
    assert.deepEqual(headerRoutes(roundTrip({ CC: "not an array" })), []);
    assert.deepEqual(headerRoutes(undefined), []);
  });
});
