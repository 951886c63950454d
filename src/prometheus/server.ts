/**
 * The Prometheus listener (rabbitmq_prometheus's port, 15692 by default): GET /metrics,
 * /metrics/per-object and /metrics/detailed in the text format, without authentication, as the
 * plugin serves them. Its own small node:http server rather than a route of the management API:
 * it runs with the management API off, and a scrape needs no router, no login and no JSON.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { gzip } from "node:zlib";
import type { PrometheusContext } from "./context.js";
import { scrape, type ScrapeShape } from "./scrape.js";

const CONTENT_TYPE = "text/plain; version=0.0.4";
const NOT_FOUND = JSON.stringify({ error: "Object Not Found", reason: "Not Found" });

export class PrometheusServer {
  private readonly server: Server;
  /** The port actually bound (after listen). */
  port = 0;

  constructor(private readonly ctx: PrometheusContext) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let shape: ScrapeShape | "unknown-registry" | undefined;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      res.writeHead(400).end();
      return;
    }
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/metrics") shape = { kind: "aggregated" };
    else if (path === "/metrics/per-object") shape = { kind: "per-object" };
    else if (path === "/metrics/detailed") {
      const vhosts = url.searchParams.getAll("vhost");
      shape = { kind: "detailed", groups: new Set(url.searchParams.getAll("family")), vhosts: vhosts.length > 0 ? new Set(vhosts) : undefined };
    } else if (path.startsWith("/metrics/")) shape = "unknown-registry";
    if (shape === undefined) {
      res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(NOT_FOUND) }).end(NOT_FOUND);
      return;
    }
    if (req.method === "OPTIONS") {
      res.writeHead(200, { allow: "HEAD, GET, OPTIONS", "content-length": 0 }).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "HEAD, GET, OPTIONS", "content-length": 0 }).end();
      return;
    }
    if (shape === "unknown-registry") {
      res.writeHead(404, { "content-type": "text/plain", "content-length": 16 }).end("Unknown Registry");
      return;
    }
    let body: Buffer;
    try {
      body = scrape(this.ctx, shape);
    } catch (err) {
      this.ctx.log.error({ event: "prometheus.scrape_failed", path, err }, "Prometheus scrape failed");
      res.writeHead(500, { "content-length": 0 }).end();
      return;
    }
    if (!acceptsGzip(req)) return send(req, res, body, "identity");
    // Compressed off the event loop (libuv's pool): a large per-object scrape does not hold other clients.
    gzip(body, (err, zipped) => {
      if (err) send(req, res, body, "identity");
      else send(req, res, zipped, "gzip");
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host === "" ? undefined : host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const address = this.server.address();
    this.port = typeof address === "object" && address !== null ? address.port : port;
    return this.port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers["accept-encoding"];
  return typeof header === "string" && /\bgzip\b/.test(header);
}

function send(req: IncomingMessage, res: ServerResponse, body: Buffer, encoding: "identity" | "gzip"): void {
  if (res.destroyed) return; // the scraper went away while the body was compressed
  res.writeHead(200, { "content-type": CONTENT_TYPE, "content-encoding": encoding, "content-length": body.length });
  res.end(req.method === "HEAD" ? undefined : body);
}
