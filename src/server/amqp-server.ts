import { createServer, type Server, type Socket } from "node:net";
import { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";

/** The AMQP TCP listener and the set of open connections. */
export class AmqpServer {
  private readonly server: Server;
  readonly connections = new Set<Connection>();

  constructor(private readonly ctx: ServerContext) {
    this.server = createServer((socket: Socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    const connection = new Connection(socket, this.ctx, (c) => this.connections.delete(c));
    this.connections.add(connection);
  }

  /** Listen; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  }

  /**
   * Stop accepting, send connection.close 320 CONNECTION_FORCED to every client, and wait (bounded)
   * for them to go.
   */
  async shutdown(timeoutMs = 3_000): Promise<void> {
    this.server.close();
    for (const connection of this.connections) connection.forceClose("broker forced connection closure with reason 'shutdown'");
    const deadline = Date.now() + timeoutMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections) connection.socket.destroy();
  }
}
