/**
 * The RabbitMQ tutorials, written with pika exactly as the tutorials do, run against the broker.
 *
 * Each script in test/python asserts what it receives and exits 0 on success; these tests only run
 * them and check the exit code. They were validated against RabbitMQ 3.10.8
 * (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/, see scripts/rabbitmq.sh), so a failure against
 * Warren means Warren behaves differently from RabbitMQ.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runPython, startBroker, type BrokerHandle } from "./helpers/broker.js";

const tutorials: Array<[name: string, script: string]> = [
  ["1. hello world: default exchange, basic_consume with auto_ack", "hello_world.py"],
  ["2. work queue: three workers, durable queue, persistent tasks, manual ack, prefetch 1", "work_queue.py"],
  ["2. work queue: a task of a SIGKILLed worker is redelivered to another worker", "worker_killed.py"],
  ["2. work queue: fair dispatch gives a fast worker more tasks than a slow one", "fair_dispatch.py"],
  ["3. publish/subscribe: fanout to exclusive server-named queues", "publish_subscribe.py"],
  ["4. routing: direct exchange with several binding keys", "routing.py"],
  ["5. topics: * and # bindings, one delivery per queue", "topics.py"],
  ["headers exchange: x-match any and all", "headers.py"],
  ["6. RPC: reply_to and correlation_id with a callback queue", "rpc.py"],
];

describe("pika tutorials", () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  for (const [name, script] of tutorials) {
    it(name, async () => {
      const { code, stdout, stderr } = await runPython(script, [broker.url]);
      assert.equal(code, 0, `${script} exited with ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
    });
  }
});
