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
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";

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

it("past the watermark publishers are blocked 'low on memory', memory stays near the mark, a consumer drains, publishers are unblocked", async () => {
  // Started with a watermark no test reaches, then set a little above the idle broker's memory.
  const broker = await startBroker({ forceLocal: true, args: ["--vm-memory-high-watermark-absolute", "4GiB"] });
  try {
    const publisherConn = await connect(broker.url);
    const consumerConn = await connect(broker.url);
    const publisher = await publisherConn.createConfirmChannel();
    const consumer = await consumerConn.createChannel();
    const { queue } = await consumer.assertQueue("", { exclusive: true });
    const events: string[] = [];
    const blocked = new Promise<string>((resolve) => publisherConn.on("blocked", (reason: string) => { events.push("blocked"); resolve(reason); }));
    const unblocked = new Promise<void>((resolve) => publisherConn.on("unblocked", () => { events.push("unblocked"); resolve(); }));

    const idle = rss(broker);
    const watermark = idle + 48 * MiB;
    const set = await warrenctl(broker.dataDir!, ["set_vm_memory_high_watermark", "absolute", String(watermark)]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`^Setting memory threshold on .* to ${watermark} bytes \\.\\.\\.`));
    let status = await warrenctl(broker.dataDir!, ["status"]);
    assert.match(status.stdout, /Alarms\n\n\(none\)\n/);
    assert.match(status.stdout, /Memory high watermark setting: [\d.]+ gb, computed to: [\d.]+ gb/);

    // 160 MiB of messages for a queue nobody consumes yet: far past the mark unless blocked.
    const count = 320;
    const body = Buffer.alloc(512 * 1024, 0x6d);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(broker))), 10);
    sampler.unref();
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
    assert.deepEqual(json.alarms.map((a) => [a.resource, a.type]), [["memory", "resource_limit"]]);
    assert.ok(peak < watermark + 32 * MiB, `RSS peaked ${((peak - watermark) / MiB).toFixed(1)} MiB above the watermark`);
    assert.ok(broker.logs.some((l) => l.event === "alarm.memory.set"));
    // What still arrives under the alarm (the publish that got the connection blocked) is paged.
    const paged = readdirSync(join(broker.dataDir!, "paged"), { recursive: true }) as string[];
    assert.ok(paged.some((f) => f.endsWith(".seg")), `paged files: ${paged.join(", ")}`);

    // The consumer is served while the publisher is blocked; draining lets the publisher go on.
    let received = 0;
    const allReceived = new Promise<void>((resolve) => {
      void consumer.consume(queue, (m) => {
        if (m === null) return;
        consumer.ack(m);
        if (++received === count) resolve();
      });
    });
    await within(unblocked, 30_000, "connection.unblocked");
    await within(published, 30_000, "confirms of every message");
    await within(allReceived, 30_000, "delivery of every message");
    clearInterval(sampler);
    assert.equal(received, count);
    assert.deepEqual(events.slice(0, 2), ["blocked", "unblocked"]);
    assert.ok(broker.logs.some((l) => l.event === "alarm.memory.cleared"));
    assert.ok(peak < watermark + 32 * MiB, `RSS peaked ${((peak - watermark) / MiB).toFixed(1)} MiB above the watermark`);
    await publisherConn.close();
    await consumerConn.close();
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
