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

  it("a redeclare of a classic queue: absent and 'classic' are the same, any other value is inequivalent", async () => {
    const q = uniq("qtype");
    queues.push(q);
    const ch = await openChannel(conn);
    await ch.assertQueue(q, { durable: false, arguments: { "x-queue-type": "classic" } });
    await ch.assertQueue(q, { durable: false });
    await ch.close();
    const prefix = "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'Q' in vhost '/': ";
    assert.equal(await refused(q, { durable: false, arguments: { "x-queue-type": 5 } }), `${prefix}received '5' but current is 'classic'`);
    assert.equal(
      await refused(q, { durable: false, arguments: { "x-queue-type": { a: 1 } } }),
      `${prefix}received '[{<<"a">>,byte,1}]' but current is 'classic'`,
    );
    const unnamed = uniq("qtype");
    queues.push(unnamed);
    const ch2 = await openChannel(conn);
    await ch2.assertQueue(unnamed, { durable: false });
    await ch2.close();
    assert.equal(
      await refused(unnamed, { durable: false, arguments: { "x-queue-type": ["classic"] } }),
      `${prefix}received the value '[{longstr,<<"classic">>}]' of type 'array' but current is none`,
    );
    assert.equal(
      await refused(unnamed, { durable: false, arguments: { "x-queue-type": "Classic" } }),
      `${prefix}received the value 'Classic' of type 'longstr' but current is none`,
    );
  });

  it("an inequivalent table or array is printed as Erlang prints it, a long one over lines", async () => {
    const q = uniq("qtype");
    queues.push(q);
    const ch = await openChannel(conn);
    await ch.assertQueue(q, { durable: false, arguments: { "x-message-ttl": 1000 } });
    await ch.close();
    const prefix = "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'Q' in vhost '/': ";
    const received = async (value: unknown) => (await refused(q, { durable: false, arguments: { "x-message-ttl": value } })).slice(prefix.length);
    assert.equal(await received([1, "abc"]), `received '[{byte,1},{longstr,<<"abc">>}]' but current is '1000'`);
    assert.equal(await received({ a: [1, { b: 2 }] }), `received '[{<<"a">>,array,[{byte,1},{table,[{<<"b">>,byte,2}]}]}]' but current is '1000'`);
    // 77 characters from column 1 stay on the line; 78 do not.
    const fits = `[{<<"aaaaaaaaaaaa">>,longstr,<<"${"b".repeat(23)}">>},{<<"c">>,byte,1}]`;
    assert.equal(fits.length, 77);
    assert.equal(await received({ aaaaaaaaaaaa: "b".repeat(23), c: 1 }), `received '${fits}' but current is '1000'`);
    assert.equal(
      await received({ aaaaaaaaaaaa: "b".repeat(24), c: 1 }),
      `received '[{<<"aaaaaaaaaaaa">>,longstr,<<"${"b".repeat(24)}">>},\n  {<<"c">>,byte,1}]' but current is '1000'`,
    );
    assert.equal(await received(1.5), "received '1.5' but current is '1000'");
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
