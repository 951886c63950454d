/**
 * warrenctl tells failures apart by their reason, never by their text (issue 9, "src/ctl stops
 * telling errors apart by their text"): a queue delete refused as in use or as not empty, and a
 * broker that does not answer in time.
 *
 * The expected outputs are rabbitmqctl 3.10.8's for the same commands (scripts/rabbitmq.sh's node,
 * with 'rabbitmqctl' read as 'warrenctl'): exit 64 and "Queue is in use" / "Queue is not empty";
 * for a timeout, exit 75 and "Error: operation <command> on node <node> timed out. Timeout value
 * used: <ms>".
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { closeQuietly, openChannel, openConnection } from "./helpers/amqp.js";
import type { BrokerHandle } from "./helpers/broker.js";
import { warrenctl, warrenForSuite, type CtlResult } from "./helpers/control.js";

const NODE = `warren@${hostname()}`;

function expect(r: CtlResult, code: number, stdout: string, stderr = ""): void {
  assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code, stdout, stderr });
}

describe("warrenctl delete_queue refusals", () => {
  const suite = warrenForSuite();
  let broker: BrokerHandle;
  before(() => {
    broker = suite.broker();
  });

  it("a queue with a consumer is in use, one with messages is not empty, and both stay", async () => {
    const conn = await openConnection(broker.url);
    try {
      const ch = await openChannel(conn);
      await ch.assertQueue("used");
      await ch.consume("used", () => {});
      await ch.assertQueue("full");
      ch.sendToQueue("full", Buffer.from("x"));
      await ch.checkQueue("full");
      expect(
        await suite.ctl("delete_queue", "used", "--if-unused"),
        64,
        "Deleting queue 'used' on vhost '/' if queue is unused ...\n",
        "Error:\nQueue is in use\n",
      );
      expect(
        await suite.ctl("delete_queue", "full", "--if-empty"),
        64,
        "Deleting queue 'full' on vhost '/' if queue is empty ...\n",
        "Error:\nQueue is not empty\n",
      );
      expect(
        await suite.ctl("delete_queue", "full", "--if-unused", "--if-empty"),
        64,
        "Deleting queue 'full' on vhost '/' if queue is empty and if queue is unused ...\n",
        "Error:\nQueue is not empty\n",
      );
      const listed = await suite.ctl("list_queues", "-q", "--no-table-headers", "name", "messages", "consumers");
      assert.deepEqual(listed.stdout.trim().split("\n").sort(), ["full\t1\t0", "used\t0\t1"]);
    } finally {
      await closeQuietly(conn);
    }
  });
});

describe("warrenctl against a broker that does not answer", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-ctl-timeout-"));
  const path = join(dir, "silent.sock");
  const sockets = new Set<Socket>();
  // Accepts and reads, never answers: a broker stuck past warrenctl's --timeout.
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
  });
  before(() => new Promise<void>((resolve) => silent.listen(path, resolve)));
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 75 with rabbitmqctl's timeout text", async () => {
    const started = Date.now();
    const r = await warrenctl(dir, ["list_users", "--node", path, "--timeout", "1"]);
    expect(r, 75, "Listing users ...\n", `Error: operation list_users on node ${NODE} timed out. Timeout value used: 1000\n`);
    assert.ok(Date.now() - started < 10_000, "the timeout is kept");
  });
});
