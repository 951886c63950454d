/**
 * The per-iteration read budget (src/server/read-budget.ts, issue 9): a connection that has read
 * its budget in one event-loop iteration is not read again before the next one, so one fast
 * publisher's 64 KiB chunks cannot hold the loop while other connections wait. Warren-only: the
 * flood test reads Warren's log (the count of exhausted budgets logged when a connection closes).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { ReadBudget } from "../src/server/read-budget.js";
import { startBroker, waitForLog } from "./helpers/broker.js";
import { ArgWriter, encodeFrame, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, headerPayload, M, methodPayload, RawClient } from "./helpers/raw-client.js";

describe("read budget", () => {
  it("closes the gate once per iteration in which the budget is spent, reopening it for the next one", async () => {
    const calls: string[] = [];
    const budget = new ReadBudget({ close: (r) => calls.push(`close ${r}`), open: (r) => calls.push(`open ${r}`) }, 1000);
    budget.spend(400);
    budget.spend(400);
    assert.deepEqual(calls, [], "under the budget");
    budget.spend(400);
    assert.deepEqual(calls, ["close budget", "open budget"], "spent: closed, and the (deferred) reopening asked for");
    assert.equal(budget.exhausted, 1);
    // A new iteration starts a new count: 900 bytes per iteration never close the gate.
    for (let i = 0; i < 5; i++) {
      await nextTurn();
      budget.spend(900);
    }
    assert.equal(budget.exhausted, 1);
    await nextTurn();
    budget.spend(5000);
    assert.equal(budget.exhausted, 2, "one chunk past the budget");
  });

  it("a flooding publisher is paused once its budget is spent; a connection making small requests beside it is served and never paused", async () => {
    const broker = await startBroker({ forceLocal: true });
    const flooder = await RawClient.connect(broker.port);
    const other = await RawClient.connect(broker.port);
    try {
      await flooder.handshake();
      await flooder.openChannel(1);
      await other.handshake();
      await other.openChannel(1);
      await other.declareQueue(1, "read-budget-q");
      // 32 MiB of 16-byte publishes, routed nowhere (nothing is kept), written in one go: the
      // kernel's buffers hand Warren far more than one budget at a time.
      const publish = Buffer.concat([
        encodeFrame(
          FRAME_METHOD,
          1,
          methodPayload(M.basicPublish[0], M.basicPublish[1], new ArgWriter().short(0).shortstr("amq.direct").shortstr("nowhere").bits(false, false).build()),
        ),
        encodeFrame(FRAME_HEADER, 1, headerPayload(60, 16)),
        encodeFrame(FRAME_BODY, 1, Buffer.alloc(16, 7)),
      ]);
      const count = Math.ceil((32 * 1024 * 1024) / publish.length);
      flooder.write(Buffer.concat(Array.from({ length: count }, () => publish)));
      // Then one synchronous method: its answer means the whole flood has been read.
      const floodRead = flooder.declareQueue(1, "read-budget-q", { passive: true });
      let answered = 0;
      let floodDone = false;
      void floodRead.then(() => (floodDone = true));
      while (!floodDone) {
        await other.declareQueue(1, "read-budget-q", { passive: true });
        answered++;
      }
      await floodRead;
      assert.ok(answered > 0, "the other connection was answered while the flood was read");
      const flooderPort = flooder.socket.localPort;
      const otherPort = other.socket.localPort;
      await flooder.closeConnection();
      await other.closeConnection();
      const closedLine = (port: number | undefined) =>
        waitForLog(broker, "connection.closed", (l) => typeof l.connection === "string" && l.connection.startsWith(`127.0.0.1:${port} `));
      const flooded = await closedLine(flooderPort);
      const quiet = await closedLine(otherPort);
      assert.equal(typeof flooded.readBudgetExhausted, "number", "the close line counts exhausted budgets");
      assert.ok((flooded.readBudgetExhausted as number) > 0, `flooder paused ${flooded.readBudgetExhausted} times`);
      assert.equal(quiet.readBudgetExhausted, 0);
    } finally {
      flooder.socket.destroy();
      other.socket.destroy();
      await broker.stop();
    }
  });
});
