/**
 * The queue engine's hot path in one process, without sockets: enqueue -> dispatch -> deliver of
 * 16-byte messages into an ordinary queue with one consumer (auto-ack, and manual ack settled in
 * batches of 100), in CPU nanoseconds per message (process.cpuUsage, which a busy machine
 * disturbs less than wall time). With --against, the same run on another build (a dist folder of
 * another checkout), alternating, and the ratio of medians: an A/B of a change to the engine.
 *
 *     npm run build && node dist/bench/queue-hot-path.js [--against /path/to/other/dist] [--rounds 5]
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { ConsumerOwner } from "../src/broker/consumer.js";

const { values } = parseArgs({
  options: {
    against: { type: "string" },
    rounds: { type: "string", default: "5" },
    messages: { type: "string", default: "200000" },
  },
});
const rounds = Number(values.rounds);
const messages = Number(values.messages);

/** What a run needs of a build's broker model (imported by path, so two builds can be compared). */
interface Engine {
  run(noAck: boolean): number;
}

async function engineOf(dist: string): Promise<Engine> {
  // Typed as this build's modules: the other build must have the same shapes.
  const { Queue } = (await import(join(dist, "src/broker/queue.js"))) as typeof import("../src/broker/queue.js");
  const { Consumer } = (await import(join(dist, "src/broker/consumer.js"))) as typeof import("../src/broker/consumer.js");
  const { Message } = (await import(join(dist, "src/broker/message.js"))) as typeof import("../src/broker/message.js");
  const { memoryStorage } = (await import(join(dist, "src/store/memory-storage.js"))) as typeof import("../src/store/memory-storage.js");
  const storage = memoryStorage();
  const message = new Message("", "q", Buffer.from([0, 0]), Buffer.alloc(16, 1));
  return {
    run(noAck: boolean): number {
      const queue = new Queue("q", "/", { durable: false, exclusive: false, autoDelete: false, arguments: {} }, () => {}, storage);
      const outstanding: number[] = [];
      const owner: ConsumerOwner = {
        canDeliver: (c) => noAck || c.unacked < 100,
        deliver: (_c, m) => {
          if (!noAck) outstanding.push(m.position, m.flags);
        },
        deliverWithProperties: () => {},
        consumerCancelled: () => {},
      };
      const consumer = new Consumer("t", queue, owner, { noAck, exclusive: false, prefetch: 100, priority: 0, arguments: {}, tagBytes: Buffer.from([1, 116]) });
      queue.addConsumer(consumer);
      const start = process.cpuUsage();
      for (let i = 0; i < messages; i++) {
        queue.enqueue(message);
        if (outstanding.length >= 200) {
          for (let k = 0; k < outstanding.length; k += 2) {
            queue.unacked--;
            consumer.unacked--;
            queue.settle(outstanding[k]!, outstanding[k + 1]!);
          }
          outstanding.length = 0;
          queue.dispatch();
        }
      }
      const used = process.cpuUsage(start);
      queue.markDeleted();
      return ((used.user + used.system) * 1000) / messages;
    },
  };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const builds: Array<[string, Engine]> = [["this build", await engineOf(here)]];
if (values.against !== undefined) builds.push([values.against, await engineOf(values.against)]);
const results = builds.map(() => ({ auto: [] as number[], manual: [] as number[] }));
for (let r = 0; r < rounds; r++) {
  builds.forEach(([, engine], i) => {
    results[i]!.auto.push(engine.run(true));
    results[i]!.manual.push(engine.run(false));
  });
}
builds.forEach(([name], i) => {
  const { auto, manual } = results[i]!;
  console.log(`${name}: auto-ack ${median(auto).toFixed(1)} ns/msg, manual ack ${median(manual).toFixed(1)} ns/msg (median of ${rounds})`);
});
if (builds.length === 2) {
  const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
  console.log(`this build : other = auto-ack ${(median(a.auto) / median(b.auto)).toFixed(3)}, manual ack ${(median(a.manual) / median(b.manual)).toFixed(3)}`);
}
