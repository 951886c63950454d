import { hostname } from "node:os";

/**
 * How warrenctl names this broker and its processes, in RabbitMQ's terms.
 *
 * RabbitMQ identifies connections, channels and queues by Erlang pids ("<rabbit@host.1.234.0>"),
 * which `close_connection` takes back. Warren has no processes, so it numbers connections and
 * queues as it first lists them and prints pid-shaped names from those numbers: a connection is
 * <node.1.N.0>, its channel C is <node.1.N.C>, a queue is <node.2.N.0>. The numbers live as long
 * as the objects (WeakMap), so one connection keeps its pid across listings.
 */
export class NodeIdentity {
  /** The node name shown by status and in JSON results: warren@<hostname>. */
  readonly node = `warren@${hostname()}`;
  private readonly ids = new WeakMap<object, number>();
  private next = 1;

  private id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.next++));
    return id;
  }

  connectionPid(connection: object): string {
    return `<${this.node}.1.${this.id(connection)}.0>`;
  }

  channelPid(connection: object, channel: number): string {
    return `<${this.node}.1.${this.id(connection)}.${channel}>`;
  }

  queuePid(queue: object): string {
    return `<${this.node}.2.${this.id(queue)}.0>`;
  }
}

/** Whether a string has the shape of a pid (close_connection refuses others: invalid_pid_syntax). */
export function isPidSyntax(text: string): boolean {
  return /^<[^<>]*\.\d+\.\d+\.\d+>$/.test(text);
}
