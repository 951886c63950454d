import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from "node:tls";
import { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";
import { hasPeerCertificate } from "./tls-peer.js";

/** The AMQP listeners (TCP, and TLS when configured) and the set of open connections. */
export class AmqpServer {
  private readonly server: Server;
  private tlsServer: Server | undefined;
  readonly connections = new Set<Connection>();
  /** Set while closeConnections waits: called when the last connection has gone. */
  private onEmpty: (() => void) | undefined;

  constructor(private readonly ctx: ServerContext) {
    this.server = createServer((socket: Socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    const connection = new Connection(socket, this.ctx, (c) => {
      this.connections.delete(c);
      if (this.connections.size === 0) this.onEmpty?.();
    });
    this.connections.add(connection);
  }

  /** Listen; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  /**
   * Listen for AMQPS. The TLS handshake has a deadline of its own (RabbitMQ's
   * ssl_handshake_timeout); a connection exists, and the AMQP handshake timeout starts, only once
   * it is done. A failed handshake is logged once and costs nothing else.
   */
  listenTls(host: string, port: number, tlsOptions: TlsOptions): Promise<number> {
    const server = createTlsServer({ ...tlsOptions, handshakeTimeout: this.ctx.options.tlsHandshakeTimeout }, (socket) => this.acceptTls(socket));
    server.on("tlsClientError", (err: NodeJS.ErrnoException, socket) => this.refuseTls(socket, err.code ?? err.message.trim()));
    this.tlsServer = server;
    return listenOn(server, host, port);
  }

  private acceptTls(socket: TLSSocket): void {
    // Asked for but optional (verify peer without fail_if_no_peer_cert): a certificate that was
    // sent must verify, as with Erlang's verify_peer.
    if (!socket.authorized && hasPeerCertificate(socket)) return this.refuseTls(socket, String(socket.authorizationError));
    // A TLS error after the handshake (a corrupted record) is emitted without closing the socket,
    // which would then sit dead until heartbeats notice: close it (the connection logs the error).
    socket.on("error", () => socket.destroy());
    this.accept(socket);
  }

  /** Log a failed TLS handshake (once: Node reports each at most once) and drop the socket. */
  private refuseTls(socket: TLSSocket, reason: string): void {
    this.ctx.log.warn({ event: "amqps.handshake_failed", peer: `${socket.remoteAddress}:${socket.remotePort}`, reason }, "TLS handshake failed");
    socket.on("error", () => {}); // a late error on a socket being dropped is not news
    socket.destroy();
  }

  /**
   * Stop accepting, send connection.close 320 CONNECTION_FORCED to every client, and wait (bounded)
   * for them to go.
   */
  async shutdown(timeoutMs = 3_000): Promise<void> {
    const listenersClosed = Promise.all([closeListener(this.server), this.tlsServer && closeListener(this.tlsServer)]);
    await this.closeConnections("shutdown", timeoutMs);
    // A listener closes once its last socket has gone; a client that hung up just before the stop
    // may still be going (a TLS handshake in progress too), hence the bound. Then one turn of the
    // event loop, in which the closed handles are let go: an embedded Warren's stop leaves none.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([listenersClosed, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Close every connection with 320 CONNECTION_FORCED ("broker forced connection closure with
   * reason '<reason>'", as RabbitMQ words it) and wait, bounded, for them to go; the listeners stay.
   */
  async closeConnections(reason: string, timeoutMs = 3_000): Promise<void> {
    for (const connection of this.connections) connection.forceClose(`broker forced connection closure with reason '${reason}'`);
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onEmpty = undefined;
    }
    for (const connection of this.connections) connection.socket.destroy();
  }
}

/**
 * Listen on `host`, or with an empty host on every address: Node then binds `::` (dual stack, so
 * IPv4 clients get in too) where IPv6 exists, and `0.0.0.0` where it does not. RabbitMQ's default
 * listener takes both families; clients that resolve `localhost` to `::1` first need it.
 */
function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host === "" ? undefined : host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

/** Stop listening; resolves when the server has closed (its accepted sockets have all gone). */
function closeListener(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
