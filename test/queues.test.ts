/**
 * Queues, as RabbitMQ 3.10 does them: declare-ok counts, server-generated names, declare
 * equivalence, reserved names, exclusive and auto-delete lifecycles, bind/unbind, purge and
 * delete (with if-unused/if-empty), and the basic.cancel sent to consumers of a deleted queue.
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
  closeQuietly,
  closeAllConnections,
  cleanup,
  expectChannelError,
  replyText,
  assertChannelUsable,
  assertConnectionUsable,
  queueExists,
  eventually,
  consume,
  drain,
  publishConfirmed,
  within,
  watchOf,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const queues: string[] = [];
const exchanges: string[] = [];

/** A named, non-exclusive queue that the after hook deletes. */
async function namedQueue(options: { durable?: boolean; autoDelete?: boolean; arguments?: Record<string, unknown> } = {}): Promise<string> {
  const name = uniq("q");
  await ch.assertQueue(name, { durable: false, autoDelete: false, exclusive: false, ...options });
  queues.push(name);
  return name;
}

async function namedExchange(type: string): Promise<string> {
  const name = uniq(`x-${type}`);
  await ch.assertExchange(name, type, { durable: false, autoDelete: false });
  exchanges.push(name);
  return name;
}

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { queues, exchanges });
  await closeAllConnections();
  await broker.stop();
});

const LOCKED = (q: string) =>
  `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. ` +
  "It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.";

describe("queue.declare", () => {
  it("a server-named queue is called amq.gen- followed by 22 characters", async () => {
    const ok = await ch.assertQueue("", { exclusive: true });
    assert.match(ok.queue, /^amq\.gen-[A-Za-z0-9_-]{22}$/);
    assert.equal(ok.messageCount, 0);
    assert.equal(ok.consumerCount, 0);
    const again = await ch.assertQueue("", { exclusive: true });
    assert.notEqual(again.queue, ok.queue);
  });

  it("declare-ok counts ready messages (not unacked ones) and consumers", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, ["m1", "m2", "m3"]);
    const fresh = await ch.assertQueue(q, { durable: false, autoDelete: false });
    assert.deepEqual(fresh, { queue: q, messageCount: 3, consumerCount: 0 });

    const consumerCh = await openChannel(conn);
    await consumerCh.prefetch(1);
    const c = await consume(consumerCh, q);
    await c.inbox.next();
    const redeclared = await ch.assertQueue(q, { durable: false, autoDelete: false });
    assert.deepEqual(redeclared, { queue: q, messageCount: 2, consumerCount: 1 });
    const passive = await ch.checkQueue(q);
    assert.deepEqual(passive, { queue: q, messageCount: 2, consumerCount: 1 });
    await consumerCh.close();
    // Closing the consumer's channel requeued its unacked message.
    assert.deepEqual(await ch.checkQueue(q), { queue: q, messageCount: 3, consumerCount: 0 });
  });

  const mismatches: Array<{ what: string; first: Record<string, unknown>; second: Record<string, unknown>; code: number; text: (q: string) => string }> = [
    {
      what: "durable",
      first: {},
      second: { durable: true },
      code: Code.PRECONDITION_FAILED,
      text: (q) => `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    },
    {
      what: "auto_delete",
      first: {},
      second: { autoDelete: true },
      code: Code.PRECONDITION_FAILED,
      text: (q) => `PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    },
    {
      // RabbitMQ treats an exclusive mismatch as a lock conflict, not an inequivalent argument.
      what: "exclusive",
      first: {},
      second: { exclusive: true },
      code: Code.RESOURCE_LOCKED,
      text: LOCKED,
    },
    {
      what: "arguments (x-message-ttl added)",
      first: {},
      second: { arguments: { "x-message-ttl": 1000 } },
      code: Code.PRECONDITION_FAILED,
      text: (q) =>
        `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': received the value '1000' of type 'short' but current is none`,
    },
    {
      what: "arguments (x-max-length changed)",
      first: { arguments: { "x-max-length": 10 } },
      second: { arguments: { "x-max-length": 20 } },
      code: Code.PRECONDITION_FAILED,
      text: (q) => `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received '20' but current is '10'`,
    },
  ];
  for (const m of mismatches) {
    it(`a redeclare with another ${m.what} is ${m.code} and closes only the channel`, async () => {
      const q = await namedQueue(m.first);
      const err = await expectChannelError(conn, m.code, (c) =>
        c.assertQueue(q, { durable: false, autoDelete: false, exclusive: false, ...m.first, ...m.second }),
      );
      assert.equal(replyText(err), m.text(q));
      await assertChannelUsable(ch);
      await assertConnectionUsable(conn);
    });
  }

  it("a redeclare that adds an argument RabbitMQ does not know is accepted", async () => {
    const q = await namedQueue();
    const ok = await ch.assertQueue(q, { durable: false, autoDelete: false, arguments: { "x-not-a-real-argument": 1, plain: "x" } });
    assert.equal(ok.queue, q);
  });

  it("a redeclare of an exclusive queue by its owner without exclusive is 405 RESOURCE_LOCKED", async () => {
    const q = uniq("excl");
    await ch.assertQueue(q, { exclusive: true });
    const err = await expectChannelError(conn, Code.RESOURCE_LOCKED, (c) => c.assertQueue(q, { exclusive: false }));
    assert.equal(replyText(err), LOCKED(q));
    await ch.deleteQueue(q);
  });

  it("declaring amq.foo is 403 ACCESS_REFUSED; a passive declare of it is 404", async () => {
    const name = `amq.${uniq("foo")}`;
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.assertQueue(name));
    assert.equal(replyText(err), `ACCESS_REFUSED - queue name '${name}' contains reserved prefix 'amq.*'`);
    const passive = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.checkQueue(name));
    assert.equal(replyText(passive), `NOT_FOUND - no queue '${name}' in vhost '/'`);
    await assertChannelUsable(ch);
  });

  it("a passive declare of a missing queue is 404 NOT_FOUND", async () => {
    const name = uniq("missing");
    const err = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.checkQueue(name));
    assert.equal(replyText(err), `NOT_FOUND - no queue '${name}' in vhost '/'`);
    await assertChannelUsable(ch);
  });

  it("purge, get and consume on a missing queue are 404 NOT_FOUND", async () => {
    const name = uniq("missing");
    for (const action of [(c: Channel) => c.purgeQueue(name), (c: Channel) => c.get(name), (c: Channel) => c.consume(name, () => {})]) {
      const err = await expectChannelError(conn, Code.NOT_FOUND, action);
      assert.equal(replyText(err), `NOT_FOUND - no queue '${name}' in vhost '/'`);
    }
  });
});

describe("exclusive queues", () => {
  let other: ChannelModel;
  let q: string;

  before(async () => {
    other = await openConnection(broker.url);
    q = uniq("excl");
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, "amq.fanout", q);
  });

  after(async () => {
    await closeQuietly(other);
  });

  const refused: Array<[string, (c: Channel, q: string) => unknown]> = [
    ["queue.declare (exclusive)", (c, name) => c.assertQueue(name, { exclusive: true })],
    ["queue.declare (not exclusive)", (c, name) => c.assertQueue(name, { exclusive: false })],
    ["queue.declare (passive)", (c, name) => c.checkQueue(name)],
    ["basic.consume", (c, name) => c.consume(name, () => {})],
    ["queue.delete", (c, name) => c.deleteQueue(name)],
    ["queue.bind", (c, name) => c.bindQueue(name, "amq.direct", "k")],
    ["queue.purge", (c, name) => c.purgeQueue(name)],
    ["basic.get", (c, name) => c.get(name)],
  ];
  for (const [what, action] of refused) {
    it(`${what} from another connection is 405 RESOURCE_LOCKED`, async () => {
      const err = await expectChannelError(other, Code.RESOURCE_LOCKED, (c) => action(c, q));
      assert.equal(replyText(err), LOCKED(q));
      await assertConnectionUsable(other);
      assert.equal((await ch.checkQueue(q)).queue, q);
    });
  }

  it("queue.unbind from another connection is allowed", async () => {
    const c = await openChannel(other);
    await c.unbindQueue(q, "amq.direct", "never-bound");
    await c.close();
  });

  it("publishing to it from another connection is allowed", async () => {
    const c = await openConfirmChannel(other);
    await publishConfirmed(c, "", q, ["from elsewhere"]);
    await c.close();
    assert.deepEqual(await drain(ch, q), ["from elsewhere"]);
  });

  it("the owner can use it from any of its channels", async () => {
    const c = await openChannel(conn);
    await c.checkQueue(q);
    await c.purgeQueue(q);
    const consumer = await consume(c, q);
    await consumer.cancel();
    await c.close();
  });

  it("is deleted when its connection closes", async () => {
    const owner = await openConnection(broker.url);
    const oc = await openChannel(owner);
    const name = uniq("excl-gone");
    await oc.assertQueue(name, { exclusive: true });
    await oc.checkQueue(name);
    await owner.close();
    assert.equal(await queueExists(conn, name), false);
  });

  it("is not deleted when only the declaring channel closes", async () => {
    const c = await openChannel(conn);
    const name = uniq("excl-stays");
    await c.assertQueue(name, { exclusive: true });
    await c.close();
    assert.equal(await queueExists(conn, name), true);
    await ch.deleteQueue(name);
  });
});

describe("auto-delete queues", () => {
  it("is not deleted before it ever had a consumer", async () => {
    const q = await namedQueue({ autoDelete: true });
    await publishConfirmed(pub, "", q, ["x"]);
    await ch.purgeQueue(q);
    assert.equal(await queueExists(conn, q), true);
  });

  it("is deleted when its last consumer cancels, not before", async () => {
    const q = await namedQueue({ autoDelete: true });
    const c1 = await consume(ch, q, { noAck: true });
    const c2 = await consume(ch, q, { noAck: true });
    await c1.cancel();
    assert.equal(await queueExists(conn, q), true);
    await c2.cancel();
    await eventually(async () => !(await queueExists(conn, q)), `auto-delete queue ${q} is gone`);
  });

  it("is deleted when the channel of its last consumer closes", async () => {
    const q = await namedQueue({ autoDelete: true });
    const c = await openChannel(conn);
    await consume(c, q);
    await c.close();
    await eventually(async () => !(await queueExists(conn, q)), `auto-delete queue ${q} is gone`);
  });
});

describe("queue.bind and queue.unbind", () => {
  it("bindings with the same key but different arguments are distinct", async () => {
    const x = await namedExchange("direct");
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(q, x, "k", { tag: "one" });
    await ch.bindQueue(q, x, "k");
    await ch.unbindQueue(q, x, "k");
    await publishConfirmed(pub, x, "k", ["still bound with arguments"]);
    assert.deepEqual(await drain(ch, q), ["still bound with arguments"]);
    await ch.unbindQueue(q, x, "k", { tag: "other" });
    await publishConfirmed(pub, x, "k", ["other arguments did not unbind"]);
    assert.deepEqual(await drain(ch, q), ["other arguments did not unbind"]);
    await ch.unbindQueue(q, x, "k", { tag: "one" });
    await publishConfirmed(pub, x, "k", ["unbound"]);
    assert.deepEqual(await drain(ch, q), []);
  });

  it("binding twice is idempotent", async () => {
    const x = await namedExchange("direct");
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(q, x, "k");
    await ch.bindQueue(q, x, "k");
    await ch.unbindQueue(q, x, "k");
    await publishConfirmed(pub, x, "k", ["after one unbind"]);
    assert.deepEqual(await drain(ch, q), []);
  });

  it("binding a missing queue is 404 NOT_FOUND", async () => {
    const x = await namedExchange("direct");
    const name = uniq("missing");
    const err = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.bindQueue(name, x, "k"));
    assert.equal(replyText(err), `NOT_FOUND - no queue '${name}' in vhost '/'`);
    await assertChannelUsable(ch);
  });

  it("binding to a missing exchange is 404 NOT_FOUND (and it is reported first when both are missing)", async () => {
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    const x = uniq("missing");
    const err = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.bindQueue(q, x, "k"));
    assert.equal(replyText(err), `NOT_FOUND - no exchange '${x}' in vhost '/'`);
    const both = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.bindQueue(uniq("missing"), x, "k"));
    assert.equal(replyText(both), `NOT_FOUND - no exchange '${x}' in vhost '/'`);
  });

  it("unbinding a binding, queue or exchange that does not exist succeeds", async () => {
    const x = await namedExchange("direct");
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.unbindQueue(q, x, "never-bound");
    await ch.unbindQueue(uniq("missing"), x, "k");
    await ch.unbindQueue(q, uniq("missing"), "k");
  });
});

describe("queue.purge", () => {
  it("returns the number of ready messages purged and leaves unacked ones alone", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, ["a", "b", "c", "d"]);
    const holder = await openChannel(conn);
    const held = await holder.get(q);
    assert.ok(held);
    assert.deepEqual(await ch.purgeQueue(q), { messageCount: 3 });
    assert.deepEqual(await ch.purgeQueue(q), { messageCount: 0 });
    await holder.close();
    assert.deepEqual(await drain(ch, q), ["a"]);
  });
});

describe("queue.delete", () => {
  it("returns the number of ready messages deleted", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, ["a", "b", "c"]);
    assert.deepEqual(await ch.deleteQueue(q), { messageCount: 3 });
    assert.equal(await queueExists(conn, q), false);
  });

  it("does not count unacked messages", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, ["a", "b", "c"]);
    const holder = await openChannel(conn);
    assert.ok(await holder.get(q));
    assert.deepEqual(await ch.deleteQueue(q), { messageCount: 2 });
    await holder.close();
  });

  it("deleting a missing queue succeeds with message count 0", async () => {
    assert.deepEqual(await ch.deleteQueue(uniq("missing")), { messageCount: 0 });
    assert.deepEqual(await ch.deleteQueue(uniq("missing"), { ifEmpty: true, ifUnused: true }), { messageCount: 0 });
  });

  it("if_unused with a consumer is 406 PRECONDITION_FAILED", async () => {
    const q = await namedQueue();
    const c = await openChannel(conn);
    await consume(c, q);
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (x) => x.deleteQueue(q, { ifUnused: true }));
    assert.equal(replyText(err), `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`);
    assert.equal(await queueExists(conn, q), true);
    await c.close();
    assert.deepEqual(await ch.deleteQueue(q, { ifUnused: true }), { messageCount: 0 });
  });

  it("if_empty with messages is 406 PRECONDITION_FAILED", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, ["m"]);
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (x) => x.deleteQueue(q, { ifEmpty: true }));
    assert.equal(replyText(err), `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`);
    assert.equal(await queueExists(conn, q), true);
    await ch.purgeQueue(q);
    assert.deepEqual(await ch.deleteQueue(q, { ifEmpty: true }), { messageCount: 0 });
  });

  it("if_empty with only unacked messages deletes the queue", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, ["m"]);
    const holder = await openChannel(conn);
    assert.ok(await holder.get(q));
    assert.deepEqual(await ch.deleteQueue(q, { ifEmpty: true }), { messageCount: 0 });
    assert.equal(await queueExists(conn, q), false);
    await holder.close();
  });

  it("consumers of a deleted queue receive basic.cancel (amqplib calls back with null) and their channel stays open", async () => {
    const q = await namedQueue();
    const c = await openChannel(conn);
    const c1 = await consume(c, q);
    const c2 = await consume(c, q);
    const otherConn = await openConnection(broker.url);
    const oc = await openChannel(otherConn);
    const c3 = await consume(oc, q);
    await ch.deleteQueue(q);
    await within(Promise.all([c1.cancelledByServer, c2.cancelledByServer, c3.cancelledByServer]), "basic.cancel for every consumer");
    await assertChannelUsable(c);
    await assertChannelUsable(oc);
    assert.equal(watchOf(c).errors.length, 0);
    await c.close();
    await otherConn.close();
  });
});
