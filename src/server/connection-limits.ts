import { refuse } from "../amqp/refusals.js";
import type { VHost } from "../broker/vhost.js";

/**
 * Open connections counted node-wide and per vhost, against connection_max and each vhost's
 * max-connections. A connection counts from connection.open-ok until it closes, so sockets still
 * in the handshake (bounded by the handshake timeout) never use up a slot of a real client.
 */
export class ConnectionLimits {
  private total = 0;
  private readonly byVhost = new Map<string, number>();

  /** `nodeMax`: RabbitMQ's connection_max, Infinity for none. */
  constructor(private readonly nodeMax: number) {}

  /**
   * Throws the 530 NOT_ALLOWED RabbitMQ refuses connection.open with when one more connection
   * would pass a limit: the node's first, then the vhost's.
   */
  checkOpen(vhost: VHost, user: string): void {
    if (this.total >= this.nodeMax) {
      throw refuse.nodeConnectionLimit(this.nodeMax);
    }
    const limit = vhost.connectionLimit;
    if (limit !== undefined && (this.byVhost.get(vhost.name) ?? 0) >= limit) {
      throw refuse.vhostConnectionLimit(vhost.name, user, limit);
    }
  }

  opened(vhost: string): void {
    this.total++;
    this.byVhost.set(vhost, (this.byVhost.get(vhost) ?? 0) + 1);
  }

  closed(vhost: string): void {
    this.total--;
    const n = (this.byVhost.get(vhost) ?? 1) - 1;
    if (n > 0) this.byVhost.set(vhost, n);
    else this.byVhost.delete(vhost);
  }
}
