/**
 * A worker thread of warren-perf: runs its share of the producers and consumers, each on its own
 * connection, on its own event loop. It counts into its shared slot; the coordinator drives it
 * with three messages: connect (sent as workerData), start (consumers subscribe, then producers
 * publish), stop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Consumer, Producer, type LoadConfig } from "./clients.js";

export interface ClientSpec {
  kind: "producer" | "consumer";
  /** Number among all producers (or consumers) of the run, for connection names. */
  index: number;
  /** Producer: routing key. Consumer: queue. */
  target: string;
}

export interface WorkerInit {
  config: LoadConfig;
  clients: ClientSpec[];
  /** Every worker's slot; `self` is this worker's. */
  slots: Float64Array[];
  self: number;
}

export type ToWorker = { type: "start" } | { type: "stop" };
export type FromWorker = { type: "ready" } | { type: "error"; message: string } | { type: "stopped" };

const init = workerData as WorkerInit;
const port = parentPort!;
const slot = init.slots[init.self]!;
let failed = false;
const onError = (err: Error) => {
  if (failed) return;
  failed = true;
  port.postMessage({ type: "error", message: err.message } satisfies FromWorker);
};

const producers: Producer[] = [];
const consumers: Consumer[] = [];

try {
  await Promise.all(
    init.clients.map(async (spec) => {
      if (spec.kind === "producer") {
        const p = new Producer(init.config, spec.target, slot, init.slots, onError);
        producers.push(p);
        await p.connect(`warren-perf producer ${spec.index}`);
      } else {
        const c = new Consumer(init.config, spec.target, slot, onError);
        consumers.push(c);
        await c.connect(`warren-perf consumer ${spec.index}`);
      }
    }),
  );
  port.postMessage({ type: "ready" } satisfies FromWorker);
} catch (err) {
  onError(err instanceof Error ? err : new Error(String(err)));
}

port.on("message", (m: ToWorker) => {
  if (m.type === "start") {
    // Consumers first (a drain is timed from here), then producers.
    void Promise.all(consumers.map((c) => c.consume())).then(
      () => {
        for (const p of producers) p.start();
      },
      (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))),
    );
  } else if (m.type === "stop") {
    void (async () => {
      await Promise.all(producers.map((p) => p.stop().catch(() => {})));
      await Promise.all(consumers.map((c) => c.stop().catch(() => {})));
      port.postMessage({ type: "stopped" } satisfies FromWorker);
      port.close();
    })();
  }
});
