/**
 * Whole sessions over a real socket: log in, then a random list of valid and mutated actions
 * (see session-actions.ts), then connection.close.
 *
 * After every session: the broker is alive (in-process: nothing escaped as an uncaught exception
 * or unhandled rejection; spawned: the process runs); no socket read held the event loop over
 * 100 ms (in-process; a slow session must be slow again when repeated, twice, to count); every
 * frame the broker sent was well formed with reply codes RabbitMQ uses (session-client.ts); and
 * a normal amqplib client, connected all along, still declares, publishes and gets. Every 100
 * sessions a fresh amqplib connection does the same.
 */
import fc from "fast-check";
import { connect, type Channel, type ChannelModel } from "amqplib";
import { startBrokerUnderTest, type BrokerUnderTest } from "../broker-under-test.js";
import { actionBytes, sessionArb, type Action } from "../session-actions.js";
import { SessionClient } from "../session-client.js";
import { BLOCK_LIMIT_MS, hex, show, type FuzzTarget } from "../target.js";

/** How long the client waits for the broker to answer a sync, or a close. */
const ANSWER_TIMEOUT_MS = 50;
/** Sessions between restarts of the broker, so state left by sessions stays bounded. */
const RESTART_EVERY = 1000;
const FRESH_CLIENT_EVERY = 100;

interface SessionOutcome {
  violations: string[];
  replies: string[];
  sent: Array<{ conn: 0 | 1; bytes: Buffer; sync: boolean }>;
  blockedMs: number;
}

/** A client that only does what every application does: it must be served throughout. */
class Bystander {
  private model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private lost: string | undefined;
  readonly queue = `fuzz-bystander-${process.pid}`;

  constructor(private readonly port: () => number) {}

  private async open(): Promise<Channel> {
    const model = await connect(`amqp://guest:guest@127.0.0.1:${this.port()}/`, { noDelay: true });
    model.on("error", (err: Error) => (this.lost = `bystander connection error: ${err.message}`));
    model.on("close", () => (this.lost ??= "bystander connection closed by the broker"));
    const channel = await model.createChannel();
    channel.on("error", (err: Error) => (this.lost = `bystander channel error: ${err.message}`));
    this.model = model;
    this.channel = channel;
    this.lost = undefined;
    return channel;
  }

  /** declare, publish, get on the long-lived connection (or a fresh one); undefined when served. */
  async check(fresh: boolean): Promise<string | undefined> {
    try {
      return await withTimeout(2000, "a normal client was not served within 2 s", async () => {
        if (this.lost) return this.lost;
        const channel = fresh ? await this.reopen() : (this.channel ?? (await this.open()));
        await channel.assertQueue(this.queue, { durable: false });
        const body = Buffer.from(`ping ${Date.now()}`);
        channel.sendToQueue(this.queue, body);
        for (let i = 0; i < 20; i++) {
          const m = await channel.get(this.queue, { noAck: true });
          if (m && m.content.equals(body)) return undefined;
          if (m) continue; // a leftover from an earlier check that timed out
        }
        return "a normal client's message did not come back from basic.get";
      });
    } catch (err) {
      return `a normal client failed: ${(err as Error).message}`;
    }
  }

  private async reopen(): Promise<Channel> {
    await this.close();
    return this.open();
  }

  async close(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    if (model) {
      model.removeAllListeners("close");
      await model.close().catch(() => {});
    }
  }
}

async function withTimeout<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([fn(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function runSession(broker: BrokerUnderTest, actions: Action[]): Promise<SessionOutcome> {
  broker.resetBlockMeasure();
  const clients: SessionClient[] = [];
  const sent: SessionOutcome["sent"] = [];
  const problems: string[] = [];
  /** The session's connections, logged in when first used. */
  const connection = async (n: 0 | 1): Promise<SessionClient> => {
    let client = clients[n];
    if (client === undefined) {
      client = await SessionClient.connect(broker.port);
      clients[n] = client;
      if (!(await client.handshake())) problems.push(`the handshake of a valid client (connection ${n}) did not complete`);
    }
    return client;
  };
  try {
    await connection(0);
    for (const action of actions) {
      const client = await connection(action.conn);
      if (client.connectionClosed) {
        if (clients.every((c) => c.connectionClosed)) break;
        continue;
      }
      // Channels 1 and 2 are reopened as a client would after a channel error, so that one
      // error does not turn the rest of the session into "channel not open" connection errors.
      if ((action.ch === 1 || action.ch === 2) && action.op !== "channel.open" && !client.openChannels.has(action.ch)) {
        const open = client.method(action.ch, 20, 10, Buffer.from([0]));
        sent.push({ conn: action.conn, bytes: open, sync: true });
        await client.send(open);
        if ((await client.sync(ANSWER_TIMEOUT_MS)) !== "ok") continue;
      }
      const bytes = actionBytes(action, client.tags);
      sent.push({ conn: action.conn, bytes, sync: action.sync });
      await client.send(bytes, action.split);
      // A timeout is no failure: a mutated size can leave the broker waiting for more bytes.
      if (action.sync && (await client.sync(ANSWER_TIMEOUT_MS)) === "timeout") break;
    }
    for (const client of clients) await client.finish(ANSWER_TIMEOUT_MS);
  } finally {
    for (const client of clients) await client.finish(0);
  }
  // Let the broker finish what the last bytes started (close handling, requeues).
  await new Promise((r) => setImmediate(r));
  return {
    violations: [...problems, ...clients.flatMap((c, n) => c.violations.map((v) => `connection ${n}: ${v}`))],
    replies: clients.flatMap((c, n) => c.replies.map((r) => `connection ${n}: ${r}`)),
    sent,
    blockedMs: broker.longestBlockMs(),
  };
}

export const sessionTarget: FuzzTarget<Action[]> = {
  name: "session",
  summary: "random sessions of valid and mutated methods over a socket, then a normal client must be served",
  async prepare(options) {
    const broker = await startBrokerUnderTest(options.spawn);
    const bystander = new Bystander(() => broker.port);
    const lastRun = new WeakMap<Action[], SessionOutcome>();
    let sessions = 0;
    const timing = { session: 0, bystander: 0 };
    /** How sessions ended, by the broker's last reply ("connection.close 504", ...): to see what the generator reaches. */
    const endings = new Map<string, number>();
    const channelCodes = new Map<string, number>();

    const recover = async () => {
      await bystander.close();
      await broker.restart();
    };

    // fast-check's time limit abandons a case in flight; close() waits for it to end, and a case
    // that ends after close() began leaves the broker alone.
    let inFlight: Promise<void> = Promise.resolve();
    let closing = false;
    const check = async (actions: Action[]): Promise<void> => {
      if (closing) return;
      if (++sessions % RESTART_EVERY === 0) await recover();
      broker.reset(bystander.queue);
      const t0 = performance.now();
      let outcome = await runSession(broker, actions);
      timing.session += performance.now() - t0;
      lastRun.set(actions, outcome);
      const ending =
        outcome.replies
          .find((r) => r.startsWith("connection 0: connection.close"))
          ?.split(" ", 4)
          .slice(2)
          .join(" ") ?? "normal close";
      endings.set(ending, (endings.get(ending) ?? 0) + 1);
      for (const r of outcome.replies) {
        const m = /channel\.close (\d+)/.exec(r);
        if (m) channelCodes.set(m[1]!, (channelCodes.get(m[1]!) ?? 0) + 1);
      }
      const problems = [...outcome.violations];
      const failure = broker.failure();
      if (failure) problems.push(failure);
      // Slow once can be the machine; slow three times is the input.
      for (let attempt = 0; outcome.blockedMs > BLOCK_LIMIT_MS && attempt < 2 && !failure; attempt++) {
        broker.reset(bystander.queue);
        outcome = await runSession(broker, actions);
      }
      if (outcome.blockedMs > BLOCK_LIMIT_MS)
        problems.push(`a read held the event loop ${outcome.blockedMs.toFixed(0)} ms (limit ${BLOCK_LIMIT_MS}), three times in a row`);
      if (!failure) {
        const t1 = performance.now();
        const served = await bystander.check(sessions % FRESH_CLIENT_EVERY === 0);
        timing.bystander += performance.now() - t1;
        if (served) problems.push(served);
      }
      if (problems.length > 0 && !closing) {
        // Leave a healthy broker for the next case (shrinking replays many).
        await recover();
        throw new Error(problems.join("\n"));
      }
    };
    const property = fc.asyncProperty(sessionArb, (actions) => {
      // One session at a time, even after fast-check abandoned one.
      const run = inFlight.then(() => check(actions));
      inFlight = run.catch(() => {});
      return run;
    });

    return {
      property,
      describe(actions) {
        const run = lastRun.get(actions);
        const lines = [
          `${actions.length} actions after the handshakes (two connections at most, each guest/guest on vhost "/" with channel 2047 open for syncs):`,
        ];
        actions.forEach((a, i) => lines.push(`  ${i}: ${show(a)}`));
        if (run) {
          lines.push("bytes sent after the handshake, one write per line: connection, then * when it then waited for basic.qos-ok on channel 2047:");
          run.sent.forEach((s) => lines.push(`  ${s.conn}${s.sync ? "*" : " "} ${hex(s.bytes, 2048)}`));
          lines.push(`broker replies: ${run.replies.length ? run.replies.join("; ") : "none"}`);
        }
        return lines.join("\n");
      },
      stats: () =>
        `${sessions} sessions (ms per session: ${(timing.session / sessions).toFixed(1)} sending, ${(timing.bystander / sessions).toFixed(1)} normal client); ended by: ${[
          ...endings,
        ]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ")}; channel errors: ${[...channelCodes]
          .sort()
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ")}`,
      async close() {
        closing = true;
        await inFlight;
        await bystander.close();
        await broker.stop();
      },
    };
  },
};
