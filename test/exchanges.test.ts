/**
 * Exchanges, as RabbitMQ 3.10 does them: types and routing, the predeclared exchanges, declare
 * equivalence, reserved names, deletion, exchange-to-exchange bindings, auto-delete, internal
 * exchanges, topic and headers matching. Every refusal asserts its reply code and reply text.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  uniq,
  openConnection,
  openChannel,
  openConfirmChannel,
  closeAllConnections,
  cleanup,
  expectChannelError,
  expectConnectionError,
  replyText,
  assertChannelUsable,
  assertConnectionUsable,
  exchangeExists,
  drain,
  publishConfirmed,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
/** A long-lived channel: each error test checks it still works afterwards. */
let ch: Channel;
/** Publishes through confirms, so that a basic.get afterwards sees everything routed. */
let pub: ConfirmChannel;
const exchanges: string[] = [];

async function declareExchange(type: string, options: { durable?: boolean; autoDelete?: boolean; internal?: boolean } = {}): Promise<string> {
  const name = uniq(`x-${type}`);
  await ch.assertExchange(name, type, { durable: false, autoDelete: false, ...options });
  exchanges.push(name);
  return name;
}

async function serverQueue(): Promise<string> {
  const q = await ch.assertQueue("", { exclusive: true });
  return q.queue;
}

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { exchanges });
  await closeAllConnections();
  await broker.stop();
});

describe("predeclared exchanges", () => {
  for (const [name, type] of [
    ["amq.direct", "direct"],
    ["amq.fanout", "fanout"],
    ["amq.topic", "topic"],
    ["amq.headers", "headers"],
    ["amq.match", "headers"],
  ] as const) {
    it(`${name} exists (passive declare) and is a durable ${type} exchange`, async () => {
      await ch.checkExchange(name);
      // An equivalent redeclare of a predeclared exchange is accepted.
      await ch.assertExchange(name, type, { durable: true });
    });
  }

  it("a redeclare of amq.direct with another type is 406 PRECONDITION_FAILED", async () => {
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.assertExchange("amq.direct", "fanout", { durable: true }));
    assert.equal(
      replyText(err),
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'fanout' but current is 'direct'",
    );
  });

  it("the default exchange routes by queue name", async () => {
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["hello"]);
    assert.deepEqual(await drain(ch, q), ["hello"]);
  });

  it('a passive declare of the default exchange "" is 403 ACCESS_REFUSED', async () => {
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.checkExchange(""));
    assert.equal(replyText(err), "ACCESS_REFUSED - operation not permitted on the default exchange");
    await assertChannelUsable(ch);
  });

  it('declaring the default exchange "" is 403 ACCESS_REFUSED', async () => {
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.assertExchange("", "direct", { durable: true }));
    assert.equal(replyText(err), "ACCESS_REFUSED - operation not permitted on the default exchange");
  });

  it("deleting the default exchange is 403 ACCESS_REFUSED", async () => {
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.deleteExchange(""));
    assert.equal(replyText(err), "ACCESS_REFUSED - operation not permitted on the default exchange");
  });

  it("deleting amq.direct is 403 ACCESS_REFUSED", async () => {
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.deleteExchange("amq.direct"));
    assert.equal(replyText(err), "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed");
    await ch.checkExchange("amq.direct");
  });

  it("binding a queue to the default exchange is 403 ACCESS_REFUSED", async () => {
    const q = await serverQueue();
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.bindQueue(q, "", "some-key"));
    assert.equal(replyText(err), "ACCESS_REFUSED - operation not permitted on the default exchange");
  });

  it("unbinding a queue from the default exchange is 403 ACCESS_REFUSED, even with the queue's own name as key", async () => {
    const q = await serverQueue();
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.unbindQueue(q, "", q));
    assert.equal(replyText(err), "ACCESS_REFUSED - operation not permitted on the default exchange");
    // The implicit binding is still there.
    await publishConfirmed(pub, "", q, ["still routed"]);
    assert.deepEqual(await drain(ch, q), ["still routed"]);
  });

  it("exchange.bind with the default exchange as source or destination is 403 ACCESS_REFUSED", async () => {
    const x = await declareExchange("fanout");
    const asSource = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.bindExchange(x, "", "k"));
    assert.equal(replyText(asSource), "ACCESS_REFUSED - operation not permitted on the default exchange");
    const asDestination = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.bindExchange("", x, "k"));
    assert.equal(replyText(asDestination), "ACCESS_REFUSED - operation not permitted on the default exchange");
  });
});

describe("exchange.declare", () => {
  it("declares each of the four types and a redeclare with the same settings is accepted", async () => {
    for (const type of ["direct", "fanout", "topic", "headers"]) {
      const name = await declareExchange(type);
      const ok = await ch.assertExchange(name, type, { durable: false, autoDelete: false });
      assert.equal(ok.exchange, name);
      await ch.checkExchange(name);
    }
  });

  const mismatches: Array<{
    what: string;
    options: { durable?: boolean; autoDelete?: boolean; internal?: boolean };
    type?: string;
    text: (n: string) => string;
  }> = [
    {
      what: "type",
      type: "fanout",
      options: {},
      text: (n) => `inequivalent arg 'type' for exchange '${n}' in vhost '/': received 'fanout' but current is 'direct'`,
    },
    {
      what: "durable",
      options: { durable: true },
      text: (n) => `inequivalent arg 'durable' for exchange '${n}' in vhost '/': received 'true' but current is 'false'`,
    },
    {
      what: "auto_delete",
      options: { autoDelete: true },
      text: (n) => `inequivalent arg 'auto_delete' for exchange '${n}' in vhost '/': received 'true' but current is 'false'`,
    },
    {
      what: "internal",
      options: { internal: true },
      text: (n) => `inequivalent arg 'internal' for exchange '${n}' in vhost '/': received 'true' but current is 'false'`,
    },
  ];
  for (const m of mismatches) {
    it(`a redeclare with another ${m.what} is 406 PRECONDITION_FAILED and closes only the channel`, async () => {
      const name = await declareExchange("direct");
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) =>
        c.assertExchange(name, m.type ?? "direct", { durable: false, autoDelete: false, internal: false, ...m.options }),
      );
      assert.equal(replyText(err), `PRECONDITION_FAILED - ${m.text(name)}`);
      await assertChannelUsable(ch);
      await assertConnectionUsable(conn);
    });
  }

  it("a redeclare with other (non alternate-exchange) arguments is accepted", async () => {
    const name = await declareExchange("direct");
    await ch.assertExchange(name, "direct", { durable: false, autoDelete: false, arguments: { "x-whatever": "value" } });
  });

  it("a redeclare with another alternate-exchange is 406 PRECONDITION_FAILED", async () => {
    const name = await declareExchange("direct");
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) =>
      c.assertExchange(name, "direct", { durable: false, autoDelete: false, alternateExchange: "ae" }),
    );
    assert.equal(
      replyText(err),
      `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${name}' in vhost '/': received the value 'ae' of type 'longstr' but current is none`,
    );
  });

  it("declaring amq.anything is 403 ACCESS_REFUSED", async () => {
    const name = `amq.${uniq("anything")}`;
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.assertExchange(name, "direct"));
    assert.equal(replyText(err), `ACCESS_REFUSED - exchange name '${name}' contains reserved prefix 'amq.*'`);
    await assertChannelUsable(ch);
  });

  it("an unknown type x-nope closes the connection with 503 COMMAND_INVALID", async () => {
    const name = uniq("x-nope");
    const err = await expectConnectionError(broker.url, Code.COMMAND_INVALID, (c) => c.assertExchange(name, "x-nope"));
    assert.equal(replyText(err), "COMMAND_INVALID - unknown exchange type 'x-nope'");
    assert.equal(await exchangeExists(conn, name), false);
    await assertChannelUsable(ch);
  });

  it("a passive declare of a missing exchange is 404 NOT_FOUND", async () => {
    const name = uniq("missing");
    const err = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.checkExchange(name));
    assert.equal(replyText(err), `NOT_FOUND - no exchange '${name}' in vhost '/'`);
    await assertChannelUsable(ch);
  });
});

describe("exchange.delete", () => {
  it("deleting a missing exchange succeeds", async () => {
    await ch.deleteExchange(uniq("missing"));
    await ch.deleteExchange(uniq("missing"), { ifUnused: true });
  });

  it("deletes an exchange; a passive declare then fails with 404", async () => {
    const name = await declareExchange("topic");
    await ch.deleteExchange(name);
    assert.equal(await exchangeExists(conn, name), false);
  });

  it("if_unused on an exchange with a queue bound is 406 PRECONDITION_FAILED; once unbound it deletes", async () => {
    const name = await declareExchange("direct");
    const q = await serverQueue();
    await ch.bindQueue(q, name, "k");
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.deleteExchange(name, { ifUnused: true }));
    assert.equal(replyText(err), `PRECONDITION_FAILED - exchange '${name}' in vhost '/' in use`);
    assert.equal(await exchangeExists(conn, name), true);
    await ch.unbindQueue(q, name, "k");
    await ch.deleteExchange(name, { ifUnused: true });
    assert.equal(await exchangeExists(conn, name), false);
  });

  it("if_unused on an exchange that is the source of an exchange binding is 406", async () => {
    const source = await declareExchange("fanout");
    const destination = await declareExchange("fanout");
    await ch.bindExchange(destination, source, "");
    await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.deleteExchange(source, { ifUnused: true }));
    await ch.unbindExchange(destination, source, "");
  });

  it("if_unused on an exchange that is only the destination of a binding deletes it", async () => {
    const source = await declareExchange("fanout");
    const destination = await declareExchange("fanout");
    await ch.bindExchange(destination, source, "");
    await ch.deleteExchange(destination, { ifUnused: true });
    assert.equal(await exchangeExists(conn, destination), false);
  });

  it("deleting an exchange removes its bindings: re-creating it routes nothing to the old queue", async () => {
    const name = await declareExchange("fanout");
    const q = await serverQueue();
    await ch.bindQueue(q, name, "");
    await ch.deleteExchange(name);
    await ch.assertExchange(name, "fanout", { durable: false, autoDelete: false });
    await publishConfirmed(pub, name, "", ["after re-create"]);
    assert.deepEqual(await drain(ch, q), []);
  });
});

describe("routing by type", () => {
  it("direct routes on exact routing-key equality", async () => {
    const x = await declareExchange("direct");
    const qa = await serverQueue();
    const qb = await serverQueue();
    await ch.bindQueue(qa, x, "a");
    await ch.bindQueue(qb, x, "b");
    await ch.bindQueue(qb, x, "a.b");
    for (const k of ["a", "b", "a.b", "A", "a ", ""]) await publishConfirmed(pub, x, k, [`key:${k}`]);
    assert.deepEqual(await drain(ch, qa), ["key:a"]);
    assert.deepEqual(await drain(ch, qb), ["key:b", "key:a.b"]);
  });

  it("fanout ignores the routing key", async () => {
    const x = await declareExchange("fanout");
    const qa = await serverQueue();
    const qb = await serverQueue();
    await ch.bindQueue(qa, x, "");
    await ch.bindQueue(qb, x, "ignored");
    await publishConfirmed(pub, x, "whatever", ["m1"]);
    await publishConfirmed(pub, x, "", ["m2"]);
    assert.deepEqual(await drain(ch, qa), ["m1", "m2"]);
    assert.deepEqual(await drain(ch, qb), ["m1", "m2"]);
  });

  it("a message matching several bindings to the same queue is delivered once (direct, fanout, topic, headers)", async () => {
    const direct = await declareExchange("direct");
    const fanout = await declareExchange("fanout");
    const topic = await declareExchange("topic");
    const headers = await declareExchange("headers");
    const q = await serverQueue();
    await ch.bindQueue(q, direct, "k");
    await ch.bindQueue(q, direct, "k", { distinct: "args" });
    await ch.bindQueue(q, fanout, "one");
    await ch.bindQueue(q, fanout, "two");
    await ch.bindQueue(q, topic, "a.*");
    await ch.bindQueue(q, topic, "#");
    await ch.bindQueue(q, topic, "a.b");
    await ch.bindQueue(q, headers, "", { "x-match": "any", h: "1" });
    await ch.bindQueue(q, headers, "", { "x-match": "all", h: "1" });
    await ch.bindQueue(q, headers, "");
    await publishConfirmed(pub, direct, "k", ["direct"]);
    await publishConfirmed(pub, fanout, "", ["fanout"]);
    await publishConfirmed(pub, topic, "a.b", ["topic"]);
    await publishConfirmed(pub, headers, "", ["headers"], { headers: { h: "1" } });
    assert.deepEqual(await drain(ch, q), ["direct", "fanout", "topic", "headers"]);
  });

  it("a message routed to a queue both directly and through an exchange binding arrives once", async () => {
    const e1 = await declareExchange("fanout");
    const e2 = await declareExchange("fanout");
    const q = await serverQueue();
    await ch.bindExchange(e2, e1, "");
    await ch.bindQueue(q, e1, "");
    await ch.bindQueue(q, e2, "");
    await publishConfirmed(pub, e1, "", ["once"]);
    assert.deepEqual(await drain(ch, q), ["once"]);
  });
});

describe("exchange-to-exchange bindings", () => {
  it("exchange.bind routes from source to destination; exchange.unbind stops it", async () => {
    const source = await declareExchange("direct");
    const destination = await declareExchange("topic");
    const q = await serverQueue();
    await ch.bindQueue(q, destination, "a.#");
    await ch.bindExchange(destination, source, "a.b");
    await publishConfirmed(pub, source, "a.b", ["through"]);
    await publishConfirmed(pub, source, "a.c", ["filtered by the e2e binding key"]);
    await publishConfirmed(pub, destination, "a.c", ["direct to destination"]);
    assert.deepEqual(await drain(ch, q), ["through", "direct to destination"]);
    await ch.unbindExchange(destination, source, "a.b");
    await publishConfirmed(pub, source, "a.b", ["after unbind"]);
    assert.deepEqual(await drain(ch, q), []);
  });

  it("chains route through several exchanges", async () => {
    const e1 = await declareExchange("fanout");
    const e2 = await declareExchange("direct");
    const e3 = await declareExchange("fanout");
    const q = await serverQueue();
    await ch.bindExchange(e2, e1, "");
    await ch.bindExchange(e3, e2, "k");
    await ch.bindQueue(q, e3, "");
    await publishConfirmed(pub, e1, "k", ["k"]);
    await publishConfirmed(pub, e1, "other", ["other"]);
    assert.deepEqual(await drain(ch, q), ["k"]);
  });

  it("a loop e1 -> e2 -> e1 terminates and delivers once to a queue bound to both", async () => {
    const e1 = await declareExchange("fanout");
    const e2 = await declareExchange("fanout");
    const q = await serverQueue();
    await ch.bindExchange(e2, e1, "");
    await ch.bindExchange(e1, e2, "");
    await ch.bindQueue(q, e1, "");
    await ch.bindQueue(q, e2, "");
    await publishConfirmed(pub, e1, "", ["via e1"]);
    await publishConfirmed(pub, e2, "", ["via e2"]);
    assert.deepEqual(await drain(ch, q), ["via e1", "via e2"]);
  });

  it("an exchange bound to itself delivers once", async () => {
    const e = await declareExchange("fanout");
    const q = await serverQueue();
    await ch.bindExchange(e, e, "");
    await ch.bindQueue(q, e, "");
    await publishConfirmed(pub, e, "", ["self"]);
    assert.deepEqual(await drain(ch, q), ["self"]);
  });

  it("exchange.bind to a missing destination or from a missing source is 404 NOT_FOUND", async () => {
    const x = await declareExchange("fanout");
    const missing = uniq("missing");
    const err1 = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.bindExchange(missing, x, ""));
    assert.equal(replyText(err1), `NOT_FOUND - no exchange '${missing}' in vhost '/'`);
    const err2 = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.bindExchange(x, missing, ""));
    assert.equal(replyText(err2), `NOT_FOUND - no exchange '${missing}' in vhost '/'`);
  });

  it("exchange.unbind of a binding that does not exist succeeds", async () => {
    const x = await declareExchange("fanout");
    const y = await declareExchange("fanout");
    await ch.unbindExchange(y, x, "never-bound");
    await ch.unbindExchange(uniq("missing"), x, "");
  });
});

describe("auto-delete exchanges", () => {
  it("is not deleted before it ever had a binding", async () => {
    const x = await declareExchange("direct", { autoDelete: true });
    assert.equal(await exchangeExists(conn, x), true);
  });

  it("is deleted when its last queue binding is removed, not before", async () => {
    const x = await declareExchange("direct", { autoDelete: true });
    const q = await serverQueue();
    await ch.bindQueue(q, x, "k1");
    await ch.bindQueue(q, x, "k2");
    await ch.unbindQueue(q, x, "k1");
    assert.equal(await exchangeExists(conn, x), true);
    await ch.unbindQueue(q, x, "k2");
    assert.equal(await exchangeExists(conn, x), false);
  });

  it("is deleted when the only bound queue is deleted", async () => {
    const x = await declareExchange("fanout", { autoDelete: true });
    const q = await serverQueue();
    await ch.bindQueue(q, x, "");
    await ch.deleteQueue(q);
    assert.equal(await exchangeExists(conn, x), false);
  });

  it("is deleted when its last exchange binding as source is removed", async () => {
    const x = await declareExchange("fanout", { autoDelete: true });
    const destination = await declareExchange("fanout");
    await ch.bindExchange(destination, x, "");
    await ch.unbindExchange(destination, x, "");
    assert.equal(await exchangeExists(conn, x), false);
  });

  it("is not deleted when it was only the destination of the removed binding", async () => {
    const x = await declareExchange("fanout", { autoDelete: true });
    const source = await declareExchange("fanout");
    await ch.bindExchange(x, source, "");
    await ch.unbindExchange(x, source, "");
    assert.equal(await exchangeExists(conn, x), true);
  });
});

describe("internal exchanges", () => {
  it("publishing to an internal exchange is 403 ACCESS_REFUSED", async () => {
    const x = await declareExchange("fanout", { internal: true });
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.publish(x, "", Buffer.from("nope")));
    assert.equal(replyText(err), `ACCESS_REFUSED - cannot publish to internal exchange '${x}' in vhost '/'`);
    await assertChannelUsable(ch);
  });

  it("an internal exchange still routes messages that reach it through an exchange binding", async () => {
    const internal = await declareExchange("fanout", { internal: true });
    const front = await declareExchange("direct");
    const q = await serverQueue();
    await ch.bindQueue(q, internal, "");
    await ch.bindExchange(internal, front, "k");
    await publishConfirmed(pub, front, "k", ["via front"]);
    assert.deepEqual(await drain(ch, q), ["via front"]);
  });
});

describe("topic matching", () => {
  const keys = ["", "a", "z", "a.z", "a.b", "a.b.z", "a.b.c.z", "a..z", "a..b", "a.", ".a", "."];
  const expected: Record<string, string[]> = {
    "#": keys,
    "#.#": keys,
    "*": ["a", "z"],
    "*.*": ["a.z", "a.b", "a.", ".a", "."],
    "*.#": keys.filter((k) => k !== ""),
    "#.*": keys.filter((k) => k !== ""),
    "a.*": ["a.z", "a.b", "a."],
    "a.#": ["a", "a.z", "a.b", "a.b.z", "a.b.c.z", "a..z", "a..b", "a."],
    "#.z": ["z", "a.z", "a.b.z", "a.b.c.z", "a..z"],
    "a.#.z": ["a.z", "a.b.z", "a.b.c.z", "a..z"],
    "a.#.#.z": ["a.z", "a.b.z", "a.b.c.z", "a..z"],
    "a.*.z": ["a.b.z", "a..z"],
    "a..b": ["a..b"],
    "": [""],
  };

  it("matches '#', '*', '#' in the middle, empty words and the empty routing key like RabbitMQ", async () => {
    const x = await declareExchange("topic");
    const queues = new Map<string, string>();
    for (const pattern of Object.keys(expected)) {
      const q = await serverQueue();
      await ch.bindQueue(q, x, pattern);
      queues.set(pattern, q);
    }
    for (const k of keys) pub.publish(x, k, Buffer.from(k));
    await pub.waitForConfirms();
    for (const [pattern, want] of Object.entries(expected)) {
      const got = await drain(ch, queues.get(pattern)!);
      assert.deepEqual(got, want, `pattern ${JSON.stringify(pattern)}`);
    }
  });

  it("is case-sensitive and treats words literally", async () => {
    const x = await declareExchange("topic");
    const q = await serverQueue();
    await ch.bindQueue(q, x, "stock.*.nyse");
    for (const k of ["stock.ibm.nyse", "Stock.ibm.nyse", "stock.ibm.NYSE", "stock.ibm.nyse.x", "stock.nyse"]) await publishConfirmed(pub, x, k, [k]);
    assert.deepEqual(await drain(ch, q), ["stock.ibm.nyse"]);
  });

  it("unbinding one pattern keeps the others", async () => {
    const x = await declareExchange("topic");
    const q = await serverQueue();
    await ch.bindQueue(q, x, "a.*");
    await ch.bindQueue(q, x, "*.b");
    await ch.unbindQueue(q, x, "a.*");
    await publishConfirmed(pub, x, "a.c", ["a.c"]);
    await publishConfirmed(pub, x, "c.b", ["c.b"]);
    assert.deepEqual(await drain(ch, q), ["c.b"]);
  });
});

describe("headers matching", () => {
  /** Binding arguments by name, and the messages (by name) each binding must receive. */
  const bindings: Record<string, { args?: Record<string, unknown>; receives: string[] | "everything" }> = {
    all: { args: { "x-match": "all", a: "1", b: "2" }, receives: ["a1b2", "a1b2c3"] },
    any: { args: { "x-match": "any", a: "1", b: "2" }, receives: ["a1b2", "a1b2c3", "a1", "b2", "a1b3", "xfoo_a1"] },
    missingXMatchIsAll: { args: { a: "1", b: "2" }, receives: ["a1b2", "a1b2c3"] },
    noArgs: { receives: "everything" },
    onlyXMatchAll: { args: { "x-match": "all" }, receives: "everything" },
    onlyXMatchAny: { args: { "x-match": "any" }, receives: [] },
    // Plain all/any ignore x- keys on both sides; the -with-x variants compare them.
    allIgnoresX: { args: { "x-match": "all", "x-foo": "bar", a: "1" }, receives: ["a1b2", "a1b2c3", "a1", "a1b3", "xfoo_a1"] },
    anyIgnoresX: { args: { "x-match": "any", "x-foo": "bar" }, receives: [] },
    anyWithX: { args: { "x-match": "any-with-x", "x-foo": "bar" }, receives: ["xfoo", "xfoo_a1"] },
    allWithX: { args: { "x-match": "all-with-x", "x-foo": "bar", a: "1" }, receives: ["xfoo_a1"] },
    // Values compare by value, not by field type: an integer 1 matches 1 of any integer width
    // and the double 1.0, but not the string "1" nor the boolean true.
    int1: { args: { n: 1 }, receives: ["n1", "n1short", "n1long", "n1double", "n1unsignedbyte"] },
    string1: { args: { n: "1" }, receives: ["nString1"] },
    boolTrue: { args: { f: true }, receives: ["fTrue"] },
    stringTrue: { args: { f: "true" }, receives: ["fStringTrue"] },
    double15: { args: { n: 1.5 }, receives: ["n1.5", "n1.5float"] },
    int100000: { args: { n: 100000 }, receives: ["n100000", "n100000long", "n100000unsigned"] },
    // A void (null) value in the binding matches any value of that header, as long as it is present.
    voidMatchesPresence: { args: { v: null }, receives: ["vNull", "vString"] },
  };
  const messages: Record<string, Record<string, unknown>> = {
    a1b2: { a: "1", b: "2" },
    a1b2c3: { a: "1", b: "2", c: "3" },
    a1: { a: "1" },
    b2: { b: "2" },
    a1b3: { a: "1", b: "3" },
    none: {},
    n1: { n: 1 },
    n1short: { n: { "!": "int16", value: 1 } },
    n1long: { n: { "!": "int64", value: 1 } },
    n1double: { n: { "!": "double", value: 1 } },
    n1unsignedbyte: { n: { "!": "uint8", value: 1 } },
    nString1: { n: "1" },
    nTrue: { n: true },
    fTrue: { f: true },
    fStringTrue: { f: "true" },
    f1: { f: 1 },
    xfoo: { "x-foo": "bar" },
    xfoo_a1: { "x-foo": "bar", a: "1" },
    vNull: { v: null },
    vString: { v: "x" },
    "n1.5": { n: 1.5 },
    "n1.5float": { n: { "!": "float", value: 1.5 } },
    n100000: { n: 100000 },
    n100000long: { n: { "!": "int64", value: 100000 } },
    n100000unsigned: { n: { "!": "uint32", value: 100000 } },
  };

  it("x-match all/any/any-with-x/all-with-x, missing x-match, value types and void like RabbitMQ", async () => {
    const x = await declareExchange("headers");
    const queues = new Map<string, string>();
    for (const [name, b] of Object.entries(bindings)) {
      const q = await serverQueue();
      await ch.bindQueue(q, x, "", b.args);
      queues.set(name, q);
    }
    for (const [name, headers] of Object.entries(messages)) pub.publish(x, "ignored", Buffer.from(name), { headers });
    await pub.waitForConfirms();
    const all = Object.keys(messages);
    for (const [name, b] of Object.entries(bindings)) {
      const receives = b.receives;
      const want = receives === "everything" ? all : all.filter((m) => receives.includes(m));
      assert.deepEqual(await drain(ch, queues.get(name)!), want, `binding ${name} ${JSON.stringify(b.args ?? null)}`);
    }
  });

  it("inside arrays and tables values compare with their field types and order; an empty table equals an empty array", async () => {
    const int = (value: number) => ({ "!": "int32", value });
    const long = (value: number) => ({ "!": "int64", value });
    const x = await declareExchange("headers");
    const nested: Record<string, { args: Record<string, unknown>; receives: string[] }> = {
      arrayOfInt: { args: { k: [int(1)] }, receives: ["arrayOfInt"] },
      tableAB: { args: { k: { a: int(1), b: "x" } }, receives: ["tableAB"] },
      emptyTable: { args: { k: {} }, receives: ["emptyTable", "emptyArray"] },
    };
    const sent: Record<string, Record<string, unknown>> = {
      arrayOfInt: { k: [int(1)] },
      arrayOfLong: { k: [long(1)] },
      arrayOfString: { k: ["1"] },
      tableAB: { k: { a: int(1), b: "x" } },
      tableABLong: { k: { a: long(1), b: "x" } },
      tableBA: { k: { b: "x", a: int(1) } },
      emptyTable: { k: {} },
      emptyArray: { k: [] },
    };
    const queues = new Map<string, string>();
    for (const [name, b] of Object.entries(nested)) {
      const q = await serverQueue();
      await ch.bindQueue(q, x, "", b.args);
      queues.set(name, q);
    }
    for (const [name, headers] of Object.entries(sent)) pub.publish(x, "", Buffer.from(name), { headers });
    await pub.waitForConfirms();
    for (const [name, b] of Object.entries(nested)) assert.deepEqual(await drain(ch, queues.get(name)!), b.receives, `binding ${name}`);
  });

  it("ignores the routing key and unbinds by arguments", async () => {
    const x = await declareExchange("headers");
    const q = await serverQueue();
    await ch.bindQueue(q, x, "", { a: "1" });
    await ch.bindQueue(q, x, "", { a: "2" });
    await ch.unbindQueue(q, x, "", { a: "1" });
    await publishConfirmed(pub, x, "any-key", ["a1"], { headers: { a: "1" } });
    await publishConfirmed(pub, x, "other-key", ["a2"], { headers: { a: "2" } });
    assert.deepEqual(await drain(ch, q), ["a2"]);
  });

  it("a message without headers matches only bindings that require nothing", async () => {
    const x = await declareExchange("headers");
    const empty = await serverQueue();
    const needsA = await serverQueue();
    await ch.bindQueue(empty, x, "");
    await ch.bindQueue(needsA, x, "", { a: "1" });
    await publishConfirmed(pub, x, "", ["bare"]);
    assert.deepEqual(await drain(ch, empty), ["bare"]);
    assert.deepEqual(await drain(ch, needsA), []);
  });

  // RabbitMQ prints the value with Erlang's ~tp: integers, floats in their shortest form, binaries,
  // void as undefined, decimals as {Scale,Value}, arrays and tables as lists of typed tuples.
  const wrongXMatch: Array<[unknown, string]> = [
    [1, "byte (value 1)"],
    [true, "bool (value true)"],
    [{ "!": "int64", value: -9007199254740991 }, "long (value -9007199254740991)"],
    [{ "!": "double", value: 1 }, "double (value 1.0)"],
    [{ "!": "double", value: 1e20 }, "double (value 1.0e20)"],
    [{ "!": "double", value: 0.00012 }, "double (value 1.2e-4)"],
    [{ "!": "float", value: 1.5 }, "float (value 1.5)"],
    [{ "!": "timestamp", value: 1700000000 }, "timestamp (value 1700000000)"],
    [{ "!": "decimal", value: { places: 2, digits: 12345 } }, "decimal (value {2,12345})"],
    [Buffer.from([1, 2, 200]), "binary (value <<1,2,200>>)"],
    [null, "void (value undefined)"],
    [["all", 1], 'array (value [{longstr,<<"all">>},{byte,1}])'],
    // Past Erlang's 80 columns a list breaks into one element a line, under the first; the whole
    // text is cut at 255 bytes (252 and "...").
    [{ a: "x", b: [true] }, `table (value [{<<"a">>,longstr,<<"x">>},\n${" ".repeat(41)}{<<"b">>,array,[{bool,true}]}])`],
    [
      ["a", 1, ["b"], { k: "v" }],
      `array (value [{longstr,<<"a">>},\n${" ".repeat(41)}{byte,1},\n${" ".repeat(41)}{array,[{longstr,<<"b">>}]},\n${" ".repeat(41)}{table,[`,
    ],
  ];
  for (const [value, described] of wrongXMatch) {
    it(`an x-match of type ${described.split(" ")[0]} is 406 naming its type and value as RabbitMQ does`, async () => {
      const x = await declareExchange("headers");
      const q = await serverQueue();
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.bindQueue(q, x, "", { "x-match": value }));
      const text = `PRECONDITION_FAILED - Invalid x-match field type ${described}; expected longstr`;
      assert.equal(replyText(err), text.length > 255 ? `${text.slice(0, 252)}...` : text);
    });
  }
});
