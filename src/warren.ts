import { readFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Broker } from "./broker/broker.js";
import type { Options } from "./config/options.js";
import { createLogger, type Logger } from "./logger.js";
import { AmqpServer } from "./server/amqp-server.js";
import { serverProperties } from "./server/server-properties.js";

/** The package version, read once from package.json. */
export function warrenVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, "..", "package.json"), join(here, "..", "..", "package.json")]) {
    try {
      return (JSON.parse(readFileSync(candidate, "utf8")) as { version: string }).version;
    } catch {
      // try the next location (src/ when run from source, dist/src/ when built)
    }
  }
  return "0.0.0";
}

/** A running Warren: the broker model and its listeners. */
export class Warren {
  readonly broker = new Broker();
  readonly log: Logger;
  private readonly amqp: AmqpServer;
  port = 0;

  constructor(readonly options: Options) {
    this.log = createLogger(options.logLevel);
    const vhost = this.broker.addVhost(options.defaultVhost);
    this.broker.users.add(options.defaultUser, options.defaultPass, ["administrator"]);
    void vhost;
    this.amqp = new AmqpServer({
      broker: this.broker,
      options,
      log: this.log,
      serverProperties: serverProperties(warrenVersion()),
    });
  }

  async start(): Promise<void> {
    mkdirSync(this.options.dataDir, { recursive: true });
    this.port = await this.amqp.listen(this.options.host, this.options.port);
    this.log.info(
      { event: "amqp.listening", host: this.options.host, port: this.port, dataDir: this.options.dataDir },
      `AMQP listening on ${this.options.host}:${this.port}`,
    );
  }

  async stop(): Promise<void> {
    this.log.info({ event: "broker.stopping" }, "shutting down");
    await this.amqp.shutdown();
    this.log.info({ event: "broker.stopped" }, "stopped");
  }
}
