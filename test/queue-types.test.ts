/**
 * x-queue-type as RabbitMQ 3.10 checks it at queue.declare: the types it has (classic, quorum,
 * stream), the arguments each type takes (one that only another type takes is refused, naming the
 * type's module), and the properties quorum and stream queues may not have (auto-delete,
 * exclusive, non-durable, a server-made name). Every text was read from RabbitMQ 3.10.8; the file
 * runs against any broker (AMQP_URL). What a quorum queue then does (delivery limits, replication)
 * is not here: Warren keeps their messages as a classic queue does.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChannelModel, Options } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { cleanup, closeAllConnections, Code, expectChannelError, openChannel, openConnection, replyText, uniq } from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
const queues: string[] = [];

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
});

after(async () => {
  await cleanup(conn, { queues });
  await closeAllConnections();
  await broker.stop();
});

/** Declare `name` expecting 406; the reply text with the queue's name replaced by Q. */
async function refused(name: string, options: Options.AssertQueue): Promise<string> {
  const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.assertQueue(name, options));
  const text = replyText(err);
  return name === "" ? text : text.replaceAll(name, "Q");
}

async function declared(options: Options.AssertQueue): Promise<void> {
  const name = uniq("qtype");
  queues.push(name);
  const ch = await openChannel(conn);
  const ok = await ch.assertQueue(name, options);
  assert.equal(ok.queue, name);
  await ch.close();
}

describe("x-queue-type", () => {
  it("classic, quorum (durable) and stream (durable) are declared; a redeclare with the same type is ok", async () => {
    await declared({ durable: false, arguments: { "x-queue-type": "classic" } });
    await declared({ durable: true, arguments: { "x-queue-type": "quorum", "x-delivery-limit": 3, "x-message-ttl": 1000 } });
    await declared({ durable: true, arguments: { "x-queue-type": "quorum", "x-queue-leader-locator": "balanced", "x-custom": "kept" } });
    await declared({ durable: true, arguments: { "x-queue-type": "stream", "x-max-age": "1h" } });
  });

  it("a type RabbitMQ does not have, or not a string, is 406", async () => {
    assert.equal(
      await refused(uniq("qtype"), { durable: true, arguments: { "x-queue-type": "foo" } }),
      "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'Q' in vhost '/': \"unsupported queue type 'foo'\"",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: true, arguments: { "x-queue-type": "" } }),
      "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'Q' in vhost '/': \"unsupported queue type ''\"",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: true, arguments: { "x-queue-type": 5 } }),
      "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'Q' in vhost '/': {unacceptable_type,byte}",
    );
  });

  it("an argument only other types take is refused, naming the type", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["quorum", { "x-max-priority": 5 }, "x-max-priority"],
      ["quorum", { "x-queue-mode": "lazy" }, "x-queue-mode"],
      ["stream", { "x-message-ttl": 1000 }, "x-message-ttl"],
      ["stream", { "x-single-active-consumer": true }, "x-single-active-consumer"],
      ["classic", { "x-delivery-limit": 3 }, "x-delivery-limit"],
      ["classic", { "x-max-age": "1h" }, "x-max-age"],
    ];
    for (const [type, args, key] of cases) {
      const typeArg = type === "classic" ? {} : { "x-queue-type": type };
      assert.equal(
        await refused(uniq("qtype"), { durable: true, arguments: { ...typeArg, ...args } }),
        `PRECONDITION_FAILED - invalid arg '${key}' for queue 'Q' in vhost '/' of queue type rabbit_${type}_queue`,
      );
    }
  });

  it("the values of a type's own arguments are checked first; another type's are not checked, only refused", async () => {
    assert.equal(
      await refused(uniq("qtype"), { durable: true, arguments: { "x-queue-type": "quorum", "x-max-priority": 5, "x-message-ttl": -1 } }),
      "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'Q' in vhost '/': {value_negative,-1}",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: true, arguments: { "x-queue-type": "quorum", "x-max-priority": -5 } }),
      "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'Q' in vhost '/' of queue type rabbit_quorum_queue",
    );
  });

  it("quorum and stream queues may not be auto-delete, exclusive or non-durable (in that order, after the arguments)", async () => {
    const q = { "x-queue-type": "quorum" };
    assert.equal(
      await refused(uniq("qtype"), { durable: true, exclusive: true, autoDelete: true, arguments: q }),
      "PRECONDITION_FAILED - invalid property 'auto-delete' for queue 'Q' in vhost '/'",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: false, exclusive: true, arguments: q }),
      "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'Q' in vhost '/'",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: false, arguments: q }),
      "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'Q' in vhost '/'",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: false, arguments: { "x-queue-type": "stream" } }),
      "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'Q' in vhost '/'",
    );
    assert.equal(
      await refused(uniq("qtype"), { durable: false, arguments: { ...q, "x-max-priority": 5 } }),
      "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'Q' in vhost '/' of queue type rabbit_quorum_queue",
    );
  });

  it("a quorum or stream queue cannot be server-named", async () => {
    for (const type of ["quorum", "stream"]) {
      assert.equal(
        await refused("", { durable: false, arguments: { "x-queue-type": type } }),
        `PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_${type}_queue`,
      );
    }
  });
});
