/**
 * Publisher confirms and transactions (AMQP tx class), as RabbitMQ 3.10 does them, with amqplib's
 * ConfirmChannel, raw methods where amqplib has no API, and pika's confirm_delivery / tx_*.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel } from "amqplib";
import { startBroker, runPython, type BrokerHandle } from "./helpers/broker.js";
import { Code, rawRpc, closeQuietly, expectChannelError, openChannel, openConfirmChannel, openConnection, replyText, uniq } from "./helpers/amqp.js";

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

/** amqplib has no tx API: the methods go through its internal rpc (rawRpc). */
const TX_SELECT = 0x005a000a;
const TX_SELECT_OK = 0x005a000b;
const TX_COMMIT = 0x005a0014;
const TX_COMMIT_OK = 0x005a0015;
const TX_ROLLBACK = 0x005a001e;
const TX_ROLLBACK_OK = 0x005a001f;

async function txCall(ch: Channel, method: number, expect: number): Promise<void> {
  await rawRpc(ch, method, {}, expect);
}

describe("publisher confirms", () => {
  it("every publish to a durable queue is confirmed, persistent or not", async () => {
    const ch = await openConfirmChannel(conn);
    const queue = uniq("confirm-q");
    await ch.assertQueue(queue, { durable: true });
    const confirmed: number[] = [];
    for (let i = 0; i < 500; i++) {
      ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: i % 2 === 0 }, (err) => {
        assert.equal(err, null);
        confirmed.push(i);
      });
    }
    await ch.waitForConfirms();
    assert.equal(confirmed.length, 500);
    assert.equal((await ch.checkQueue(queue)).messageCount, 500);
    await ch.deleteQueue(queue);
    await ch.close();
  });

  it("an unroutable message is confirmed (acked, not nacked)", async () => {
    const ch = await openConfirmChannel(conn);
    const err = await new Promise<Error | null>((resolve) => ch.publish("amq.direct", uniq("nowhere"), Buffer.from("x"), {}, resolve));
    assert.equal(err, null);
    await ch.close();
  });
});

describe("transactions", () => {
  it("publishes are held until tx.commit and dropped by tx.rollback", async () => {
    const ch = await openChannel(conn);
    const queue = uniq("tx-q");
    await ch.assertQueue(queue, { exclusive: true });
    await txCall(ch, TX_SELECT, TX_SELECT_OK);
    ch.sendToQueue(queue, Buffer.from("rolled back"), { persistent: true });
    assert.equal((await ch.checkQueue(queue)).messageCount, 0, "nothing before the commit");
    await txCall(ch, TX_ROLLBACK, TX_ROLLBACK_OK);
    ch.sendToQueue(queue, Buffer.from("committed"), { persistent: true });
    await txCall(ch, TX_COMMIT, TX_COMMIT_OK);
    const m = await ch.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), "committed");
    assert.equal(await ch.get(queue), false);
    await ch.close();
  });

  it("acks are held until tx.commit; a rolled-back ack leaves the message unacked", async () => {
    const setup = await openChannel(conn);
    const queue = uniq("tx-ack");
    await setup.assertQueue(queue, { exclusive: true });
    setup.sendToQueue(queue, Buffer.from("a"));
    await setup.checkQueue(queue);
    const ch = await openChannel(conn);
    await txCall(ch, TX_SELECT, TX_SELECT_OK);
    const m = await ch.get(queue);
    assert.ok(m);
    ch.ack(m);
    await txCall(ch, TX_ROLLBACK, TX_ROLLBACK_OK);
    // Still unacked: closing the channel requeues it.
    await ch.close();
    const again = await setup.get(queue);
    assert.ok(again);
    assert.equal(again.fields.redelivered, true);
    const ch2 = await openChannel(conn);
    await txCall(ch2, TX_SELECT, TX_SELECT_OK);
    setup.nack(again); // back to the queue for ch2
    const m2 = await ch2.get(queue);
    assert.ok(m2);
    ch2.ack(m2);
    await txCall(ch2, TX_COMMIT, TX_COMMIT_OK);
    await ch2.close();
    assert.equal((await setup.checkQueue(queue)).messageCount, 0, "the committed ack removed it");
    await setup.close();
  });

  it("tx.commit and tx.rollback without tx.select are 406", async () => {
    for (const [method, expect] of [
      [TX_COMMIT, TX_COMMIT_OK],
      [TX_ROLLBACK, TX_ROLLBACK_OK],
    ] as const) {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => txCall(ch, method, expect));
      assert.equal(replyText(err), "PRECONDITION_FAILED - channel is not transactional");
    }
  });

  it("tx.select on a confirm channel and confirm.select on a tx channel are 406", async () => {
    const confirm = await openConfirmChannel(conn);
    const closed = new Promise<Error & { code?: number }>((resolve) => confirm.once("error", resolve));
    await txCall(confirm, TX_SELECT, TX_SELECT_OK).catch(() => {});
    const err = await closed;
    assert.equal(err.code, Code.PRECONDITION_FAILED);
    assert.match(err.message, /cannot switch from confirm to tx mode/);
  });
});

it("pika: confirm_delivery, UnroutableError, tx_commit / tx_rollback, and mixing modes refused", async () => {
  const result = await runPython("confirms_tx.py", [broker.url]);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
});
