/**
 * The memory alarm (issue 8, finding 5): past vm_memory_high_watermark (RabbitMQ's setting, on
 * the process's resident memory) publishers get connection.blocked "low on memory" and are not
 * read, consumers are still served, and connection.unblocked follows once memory is back under
 * the mark. warrenctl set_vm_memory_high_watermark changes the mark at run time; status shows it.
 *
 * The broker's memory is read from /proc/<pid>/status, so these tests start their own Warren.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "amqplib";
import { startBroker, type BrokerHandle, waitForLog } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";
import { watchBlocking } from "./helpers/amqp.js";

/** The broker's resident memory, bytes (0 once it has exited). */
function rss(broker: BrokerHandle): number {
  try {
    const status = readFileSync(`/proc/${broker.process!.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

const MiB = 1024 * 1024;

/** Fail (instead of hanging until the test times out) when `promise` does not settle in time. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

it("past the watermark publishers are blocked 'low on memory', memory stays near the mark, consumers are served, publishers are unblocked", async () => {
  // Started with a watermark no test reaches, then set a little above the idle broker's memory.
  const broker = await startBroker({ forceLocal: true, args: ["--vm-memory-high-watermark-absolute", "4GiB"] });
  let sampler: NodeJS.Timeout | undefined;
  try {
    const publisherConn = await connect(broker.url);
    const consumerConn = await connect(broker.url);
    const publisher = await publisherConn.createConfirmChannel();
    const consumer = await consumerConn.createChannel();
    const { queue } = await consumer.assertQueue("", { exclusive: true });
    const { events, blocked, unblocked } = watchBlocking(publisherConn);

    const idle = rss(broker);
    const watermark = idle + 48 * MiB;
    const set = await warrenctl(broker.dataDir!, ["set_vm_memory_high_watermark", "absolute", String(watermark)]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`^Setting memory threshold on .* to ${watermark} bytes \\.\\.\\.`));
    let status = await warrenctl(broker.dataDir!, ["status"]);
    assert.match(status.stdout, /Alarms\n\n\(none\)\n/);
    assert.match(status.stdout, /Memory high watermark setting: [\d.]+ gb, computed to: [\d.]+ gb/);

    // The consumer takes every message and acks none: unacked messages are memory no queue
    // budget counts, 160 MiB of it unless the alarm stops the publisher.
    const count = 320;
    const received: Array<{ fields: { deliveryTag: number } }> = [];
    await consumer.consume(queue, (m) => m && received.push(m));
    const body = Buffer.alloc(512 * 1024, 0x6d);
    let peak = idle;
    sampler = setInterval(() => (peak = Math.max(peak, rss(broker))), 10);
    const published = (async () => {
      for (let i = 0; i < count; i++) {
        if (!publisher.sendToQueue(queue, body)) await new Promise((r) => publisher.once("drain", r));
      }
      await publisher.waitForConfirms();
    })();
    published.catch(() => {}); // awaited below; a failure before that must not go unhandled

    assert.equal(await within(blocked, 20_000, "connection.blocked"), "low on memory");
    await new Promise((r) => setTimeout(r, 1_000)); // blocked: the broker's memory must stay put
    // Near the mark the alarm may clear for a moment (garbage collected) and come back: poll.
    const deadline = Date.now() + 5_000;
    do status = await warrenctl(broker.dataDir!, ["status", "--formatter", "json"]);
    while (!status.stdout.includes('"resource":"memory"') && Date.now() < deadline);
    const json = JSON.parse(status.stdout) as { alarms: Array<{ resource: string; type: string }> };
    assert.deepEqual(
      json.alarms.map((a) => [a.resource, a.type]),
      [["memory", "resource_limit"]],
    );
    assert.ok(peak < watermark + 32 * MiB, `RSS peaked ${((peak - watermark) / MiB).toFixed(1)} MiB above the watermark`);
    await waitForLog(broker, "alarm.memory.set");
    assert.ok(received.length > 0 && received.length < count, `the consumer was served (${received.length} messages) while the publisher was blocked`);
    // What still arrives under the alarm (the publish that got the connection blocked) is paged.
    const paged = readdirSync(join(broker.dataDir!, "transient"), { recursive: true }) as string[];
    assert.ok(
      paged.some((f) => f.endsWith(".seg")),
      `paged files: ${paged.join(", ")}`,
    );

    // Acks free the memory: the publisher is unblocked and finishes.
    let acked = 0;
    const ackAll = setInterval(() => {
      const last = received.at(-1);
      if (last === undefined || last.fields.deliveryTag <= acked) return;
      acked = last.fields.deliveryTag;
      consumer.ack(last as Parameters<typeof consumer.ack>[0], true);
    }, 50);
    try {
      await within(unblocked, 30_000, "connection.unblocked");
      await within(published, 30_000, "confirms of every message");
      const deadlineAll = Date.now() + 30_000;
      while (received.length < count && Date.now() < deadlineAll) await new Promise((r) => setTimeout(r, 50));
    } finally {
      clearInterval(ackAll);
    }
    assert.equal(received.length, count);
    assert.deepEqual(events.slice(0, 2), ["blocked", "unblocked"]);
    await waitForLog(broker, "alarm.memory.cleared");
    assert.ok(peak < watermark + 32 * MiB, `RSS peaked ${((peak - watermark) / MiB).toFixed(1)} MiB above the watermark`);
    await publisherConn.close();
    await consumerConn.close();
  } finally {
    clearInterval(sampler);
    await broker.stop();
  }
});

it("a backlog nobody consumes does not block its publisher for good: it pages to disk (past half the watermark, and under the alarm)", async () => {
  const broker = await startBroker({ forceLocal: true, args: ["--vm-memory-high-watermark-absolute", "200MiB"] });
  try {
    const conn = await connect(broker.url);
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    // 150 MiB into a queue nobody consumes: past 100 MiB it goes to disk, not to memory. (Garbage
    // of the bodies read may raise the alarm for a moment; without paging it would stay, with no
    // consumer to clear it, and the confirms would never come.)
    const body = Buffer.alloc(1024 * 1024, 0x70);
    for (let i = 0; i < 150; i++) {
      if (!ch.sendToQueue(queue, body)) await new Promise((r) => ch.once("drain", r));
    }
    await within(ch.waitForConfirms(), 60_000, "confirms");
    const paged = readdirSync(join(broker.dataDir!, "transient"), { recursive: true }) as string[];
    assert.ok(
      paged.some((f) => f.endsWith(".seg")),
      `paged files: ${paged.join(", ")}`,
    );
    assert.equal((await ch.checkQueue(queue)).messageCount, 150);
    await conn.close();
  } finally {
    await broker.stop();
  }
});

it("a watermark set at run time raises and clears the alarm; status shows it", async () => {
  const broker = await startBroker({ forceLocal: true, args: ["--vm-memory-high-watermark", "0.4"] });
  try {
    let status = await warrenctl(broker.dataDir!, ["status"]);
    assert.match(status.stdout, /Memory high watermark setting: 0\.4 of available memory, computed to: [\d.]+ gb/);
    assert.match(status.stdout, /Alarms\n\n\(none\)\n/);

    const conn = await connect(broker.url);
    const blocked = new Promise<string>((resolve) => conn.on("blocked", resolve));
    const unblocked = new Promise<void>((resolve) => conn.on("unblocked", resolve));
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    // 1 MiB is below any Node process: the alarm goes on at once.
    assert.equal((await warrenctl(broker.dataDir!, ["set_vm_memory_high_watermark", "absolute", "1MiB"])).code, 0);
    status = await warrenctl(broker.dataDir!, ["status"]);
    assert.match(status.stdout, /Alarms\n\nMemory alarm on node \S+\n/);
    assert.match(status.stdout, /Memory high watermark setting: 0\.001 gb, computed to: 0\.001 gb/);
    ch.sendToQueue(queue, Buffer.from("taken before the block"));
    assert.equal(await within(blocked, 10_000, "connection.blocked"), "low on memory");

    assert.equal((await warrenctl(broker.dataDir!, ["set_vm_memory_high_watermark", "0.4"])).code, 0);
    await within(unblocked, 10_000, "connection.unblocked");
    status = await warrenctl(broker.dataDir!, ["status"]);
    assert.match(status.stdout, /Alarms\n\n\(none\)\n/);
    ch.sendToQueue(queue, Buffer.from("after"));
    const got: string[] = [];
    for (let m = await ch.get(queue, { noAck: true }); got.length < 2; m = await ch.get(queue, { noAck: true })) {
      if (m !== false) got.push(m.content.toString());
    }
    assert.deepEqual(got, ["taken before the block", "after"]);
    await conn.close();
  } finally {
    await broker.stop();
  }
});
