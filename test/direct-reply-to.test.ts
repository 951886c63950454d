/**
 * Direct reply-to (amq.rabbitmq.reply-to), which Warren advertises in its capabilities as RabbitMQ
 * does: RPC replies without a reply queue. Runs against RabbitMQ too.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChannelModel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { Code, closeQuietly, expectChannelError, openChannel, openConnection, replyText, uniq } from "./helpers/amqp.js";

const REPLY_QUEUE = "amq.rabbitmq.reply-to";
let broker: BrokerHandle;
let conn: ChannelModel;

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
});

after(async () => {
  await closeQuietly(conn);
  await broker.stop();
});

describe("direct reply-to", () => {
  it("an RPC round trip: the request's reply_to is rewritten and the reply comes back through no queue", async () => {
    const serverConn = await openConnection(broker.url);
    const server = await openChannel(serverConn);
    const rpcQueue = uniq("rpc");
    await server.assertQueue(rpcQueue, { exclusive: true });
    let seenReplyTo = "";
    await server.consume(rpcQueue, (m) => {
      if (m === null) return;
      seenReplyTo = m.properties.replyTo as string;
      server.sendToQueue(m.properties.replyTo as string, Buffer.from(`reply to ${m.content.toString()}`), {
        correlationId: m.properties.correlationId as string,
      });
      server.ack(m);
    });

    const client = await openChannel(conn);
    const replies: Array<{ body: string; correlationId: string; exchange: string; routingKey: string }> = [];
    const done = new Promise<void>((resolve) => {
      void client.consume(
        REPLY_QUEUE,
        (m) => {
          if (m === null) return;
          replies.push({
            body: m.content.toString(),
            correlationId: m.properties.correlationId as string,
            exchange: m.fields.exchange,
            routingKey: m.fields.routingKey,
          });
          if (replies.length === 3) resolve();
        },
        { noAck: true },
      );
    });
    for (const n of [1, 2, 3]) client.sendToQueue(rpcQueue, Buffer.from(`q${n}`), { replyTo: REPLY_QUEUE, correlationId: `c${n}` });
    await done;
    assert.match(seenReplyTo, /^amq\.rabbitmq\.reply-to\.\S+$/);
    assert.deepEqual(
      replies.map((r) => [r.body, r.correlationId]),
      [
        ["reply to q1", "c1"],
        ["reply to q2", "c2"],
        ["reply to q3", "c3"],
      ],
    );
    assert.equal(replies[0]!.exchange, "");
    assert.equal(replies[0]!.routingKey, seenReplyTo);
    await closeQuietly(serverConn);
    await client.close();
  });

  it("the pseudo-queue passes a passive declare", async () => {
    const ch = await openChannel(conn);
    const ok = await ch.checkQueue(REPLY_QUEUE);
    assert.equal(ok.queue, REPLY_QUEUE);
    await ch.close();
  });

  it("consuming it with acks is 406", async () => {
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.consume(REPLY_QUEUE, () => {}, { noAck: false }));
    assert.equal(replyText(err), "PRECONDITION_FAILED - reply consumer cannot acknowledge");
  });

  it("publishing with reply_to amq.rabbitmq.reply-to without consuming it is 406", async () => {
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, async (ch) => {
      ch.sendToQueue(uniq("anywhere"), Buffer.from("x"), { replyTo: REPLY_QUEUE });
      await ch.checkQueue(REPLY_QUEUE);
    });
    assert.equal(replyText(err), "PRECONDITION_FAILED - fast reply consumer does not exist");
  });
});
