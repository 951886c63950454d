/**
 * The hot path (publish -> route -> enqueue -> deliver -> ack) allocates next to nothing per
 * message: a Channel on a minimal host, driven with frames encoded once, under V8's sampling heap
 * profiler (objects collected by minor and major GCs included). Before the allocation work of
 * issue 9 a message cost several hundred bytes of garbage here (the publish method, three Buffer
 * views, the Message, boxed numbers, array growth in the unacked list).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Session } from "node:inspector";
import type { Socket } from "node:net";
import { pino } from "pino";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { FrameWriter } from "../../src/amqp/frame-writer.js";
import * as amqp from "../../src/amqp/generated.js";
import { PublishDecoder } from "../../src/amqp/publish-decoder.js";
import { Broker } from "../../src/broker/broker.js";
import type { Queue } from "../../src/broker/queue.js";
import type { VHost } from "../../src/broker/vhost.js";
import { memoryStorage } from "../../src/store/memory-storage.js";
import { Channel } from "../../src/server/channel.js";
import type { ChannelHost, ChannelServices, DrainWaiter } from "../../src/server/channel-host.js";
import { DirectReplyTo } from "../../src/server/direct-reply-to.js";

/** A socket that takes everything and keeps nothing. */
class NullSocket {
  writableLength = 0;
  cork(): void {}
  uncork(): void {}
  write(): boolean {
    return true;
  }
}

/** The least a Channel needs of its connection; acks dispatch at once. */
class MinimalHost implements ChannelHost {
  readonly writer = new FrameWriter(new NullSocket() as unknown as Socket, 131072);
  readonly username = "guest";
  readonly name = "minimal host";
  readonly log = pino({ level: "silent" });
  readonly capabilities = { consumerCancelNotify: true };
  readonly ctx: ChannelServices;
  constructor(
    readonly vhost: VHost,
    broker: Broker,
  ) {
    this.ctx = { broker, options: { maxMessageSize: 1024 * 1024 }, directReplies: new DirectReplyTo() };
  }
  blockIfAlarmed(): void {}
  holdForQueue(): void {}
  dispatchAfterAcks(queue: Queue): void {
    queue.dispatch();
  }
  waitForDrain(_waiter: DrainWaiter): void {}
  stopWaitingForDrain(_waiter: DrainWaiter): void {}
  ownExclusiveQueue(): void {}
  disownExclusiveQueue(): void {}
  removeChannel(): void {}
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
}

interface ProfileNode {
  selfSize: number;
  children: ProfileNode[];
}

function totalBytes(node: ProfileNode): number {
  return node.children.reduce((sum, child) => sum + totalBytes(child), node.selfSize);
}

describe("hot path allocation", () => {
  it("a 16-byte message published, delivered and acked (manual ack, prefetch 100) leaves under 100 bytes of garbage", async (t) => {
    const broker = new Broker(memoryStorage());
    const vhost = broker.vhosts.get("/") ?? broker.addVhost("/");
    broker.permissions.set("guest", "/", ".*", ".*", ".*");
    const host = new MinimalHost(vhost, broker);
    const channel = new Channel(1, host);
    channel.onMethod({
      id: amqp.QUEUE_DECLARE,
      queue: "hot",
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      noWait: false,
      arguments: {},
    });
    channel.onMethod({ id: amqp.BASIC_QOS, prefetchSize: 0, prefetchCount: 100, global: false });
    channel.onMethod({ id: amqp.BASIC_CONSUME, queue: "hot", consumerTag: "c", noLocal: false, noAck: false, exclusive: false, noWait: false, arguments: {} });

    // One chunk holding basic.publish, its content header and a 16-byte body, as a client sends them.
    const method = new AmqpWriter(64);
    amqp.encodeBasicPublish(method, { exchange: "", routingKey: "hot", mandatory: false, immediate: false });
    const header = new AmqpWriter(64);
    header.u16(amqp.CLASS_BASIC);
    header.u16(0);
    header.u64(16);
    amqp.encodeBasicProperties(header, {});
    const chunk = Buffer.concat([method.buf.subarray(0, method.pos), header.buf.subarray(0, header.pos), Buffer.alloc(16, 0x61)]);
    const methodEnd = method.pos;
    const headerEnd = methodEnd + header.pos;
    const decoder = new PublishDecoder();

    let tag = 0;
    const run = (messages: number) => {
      for (let i = 0; i < messages; i++) {
        channel.onMethod(decoder.decode(chunk, 4, methodEnd));
        channel.onContentHeader(chunk, methodEnd, headerEnd);
        channel.onContentBody(chunk, headerEnd, chunk.length);
        // The consumer acks each delivery as it comes (prefetch 100 keeps a window in flight).
        if (i >= 50) channel.onAck(++tag, false);
        if (i % 64 === 0) host.writer.flush();
      }
    };
    run(100_000); // warm: optimised code, grown buffers
    const session = new Session();
    session.connect();
    try {
      await post(session, "HeapProfiler.startSampling", {
        samplingInterval: 1024,
        includeObjectsCollectedByMinorGC: true,
        includeObjectsCollectedByMajorGC: true,
      });
      const messages = 200_000;
      run(messages);
      const { profile } = await post<{ profile: { head: ProfileNode } }>(session, "HeapProfiler.stopSampling");
      const perMessage = totalBytes(profile.head) / messages;
      t.diagnostic(`${perMessage.toFixed(1)} bytes allocated per message`);
      assert.ok(perMessage < 100, `${perMessage.toFixed(1)} bytes allocated per message`);
    } finally {
      session.disconnect();
    }
    // Each run leaves its first 50 deliveries unacked.
    assert.equal(broker.vhosts.get("/")!.queues.get("hot")!.unacked, 100, "the windows still in flight");
  });
});
