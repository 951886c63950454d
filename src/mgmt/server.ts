/**
 * The management HTTP server (RabbitMQ's management plugin port, 15672 by default): the HTTP API
 * under /api, RabbitMQ's paths and JSON. Built on fastify (routing with percent-decoded path
 * segments, body limits, keep-alive, a clean close); each resource's routes live in
 * src/mgmt/routes/. The web UI is served from the same server, outside /api (src/mgmt/ui-files.ts).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { AccessError } from "../access/errors.js";
import { AmqpError } from "../amqp/errors.js";
import { DefinitionsError } from "../definitions/definitions-error.js";
import { type ApiCall, type ApiRouter, type Handler, Reply, type RouteOptions } from "./api.js";
import { authenticate, type Principal } from "./auth.js";
import type { ManagementContext } from "./context.js";
import { HttpError, httpError } from "./http-error.js";
import type { Query } from "./listing.js";
import { multipartBoundary, parseMultipart } from "./multipart.js";
import { registerAccessRoutes } from "./routes/access.js";
import { registerBindingRoutes } from "./routes/bindings.js";
import { registerConnectionRoutes } from "./routes/connections.js";
import { registerDefinitionRoutes } from "./routes/definitions.js";
import { registerExchangeRoutes } from "./routes/exchanges.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerOverviewRoutes } from "./routes/overview.js";
import { registerPolicyRoutes } from "./routes/policies.js";
import { registerQueueRoutes } from "./routes/queues.js";
import { loadUiFiles, UI_HEADERS } from "./ui-files.js";
import { jsonText } from "../ctl/json-text.js";

/** RabbitMQ's management.http_max_body_size default: definitions files can be large. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

export class ManagementServer {
  private readonly app: FastifyInstance;
  /** The port actually bound (after listen). */
  port = 0;
  /** Who made each request in flight (set by the login hook, read by the handler). */
  private readonly principals = new WeakMap<FastifyRequest, Principal>();
  /** Every API path (as a pattern) with the methods it takes, for the 405s of the others. */
  private readonly methodsByPath = new Map<string, { pattern: RegExp; methods: string[] }>();

  constructor(private readonly ctx: ManagementContext) {
    this.app = Fastify({
      logger: false,
      bodyLimit: MAX_BODY_BYTES,
      routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 10_000 },
    });
    this.app.removeAllContentTypeParsers();
    // Bodies are JSON whatever their Content-Type says (curl sends form-encoded, rabbitmqadmin JSON).
    this.app.addContentTypeParser("*", { parseAs: "string" }, (req, text, done) => {
      const body = String(text);
      const boundary = multipartBoundary(req.headers["content-type"]);
      if (boundary !== undefined) return done(null, parseMultipart(body, boundary));
      if (body.trim() === "") return done(null, undefined);
      try {
        done(null, JSON.parse(body));
      } catch {
        done(httpError.badRequest("not_json"), undefined);
      }
    });
    this.app.setNotFoundHandler((req, reply) => void this.notFound(req, reply));
    this.app.setErrorHandler((err, req, reply) => void this.fail(err, req, reply));
    const router: ApiRouter = {
      get: (path, handler, options) => this.route("GET", path, handler, options),
      put: (path, handler) => this.route("PUT", path, handler),
      post: (path, handler) => this.route("POST", path, handler),
      delete: (path, handler) => this.route("DELETE", path, handler),
    };
    registerOverviewRoutes(router, ctx);
    registerAccessRoutes(router, ctx);
    registerDefinitionRoutes(router, ctx);
    registerQueueRoutes(router, ctx);
    registerExchangeRoutes(router, ctx);
    registerBindingRoutes(router, ctx);
    registerConnectionRoutes(router, ctx);
    registerHealthRoutes(router, ctx);
    registerPolicyRoutes(router, ctx);
    this.serveUi();
  }

  /** The web UI at `/`: its files from memory, with no login (the page logs in through the API). */
  private serveUi(): void {
    const files = loadUiFiles();
    this.app.get("/*", (req, reply) => {
      const path = req.url.split("?")[0]!;
      const file = files.get(path === "/index.html" ? "/" : path);
      if (file === undefined) return send(reply, httpError.notFound());
      reply.headers(UI_HEADERS).header("etag", file.etag);
      if (req.headers["if-none-match"] === file.etag) return reply.code(304).send();
      return reply.header("content-type", file.contentType).send(file.body);
    });
  }

  /** A path the API has, asked with a method it does not take: 405 with Allow and no body, as RabbitMQ; otherwise 404. */
  private notFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const path = req.url.split("?")[0]!;
    const allowed = [...this.methodsByPath.values()].find((r) => r.pattern.test(path))?.methods;
    if (allowed === undefined) return send(reply, httpError.notFound());
    const allow = [...(allowed.includes("GET") ? ["HEAD"] : []), ...allowed, "OPTIONS"];
    return reply.code(405).header("allow", allow.join(", ")).send();
  }

  private route(method: "GET" | "PUT" | "POST" | "DELETE", path: string, handler: Handler, options: RouteOptions = {}): void {
    const known = this.methodsByPath.get(path);
    if (known !== undefined) known.methods.push(method);
    else {
      // ":name" is one percent-encoded segment; a trailing slash is accepted.
      const source = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z]+/g, "[^/]+");
      this.methodsByPath.set(path, { pattern: new RegExp(`^${source}/?$`), methods: [method] });
    }
    this.app.route({
      method,
      url: path,
      // The login is checked before the body is read: nobody without credentials gets a body parsed.
      onRequest: options.public
        ? undefined
        : async (req) => {
            this.principals.set(req, this.login(req));
          },
      handler: async (req, reply) => {
        const principal = options.public ? (undefined as unknown as Principal) : this.principals.get(req)!;
        const call: ApiCall = {
          principal,
          params: req.params as Record<string, string>,
          query: req.query as Query,
          body: req.body,
          headers: req.headers,
          remoteAddress: req.socket.remoteAddress,
        };
        const result = handler(call);
        const answer = result instanceof Promise ? await result : result;
        if (answer instanceof Reply) {
          reply.code(answer.status).headers(answer.headers);
          return answer.body === undefined ? reply.send() : sendJson(reply, answer.body);
        }
        return sendJson(reply, answer);
      },
    });
  }

  private login(req: FastifyRequest): Principal {
    return authenticate(this.ctx.broker, this.ctx.options.loopbackUsers, req.headers.authorization, req.socket.remoteAddress);
  }

  private fail(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (err instanceof HttpError) return send(reply, err);
    if (err instanceof AmqpError) return send(reply, fromAmqpError(err));
    if (err instanceof AccessError || err instanceof DefinitionsError) return send(reply, httpError.badRequest(err.message));
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      // fastify's own refusals: a body over the limit, a bad URL.
      return send(reply, new HttpError(status, "bad_request", (err as Error).message));
    }
    this.ctx.log.error({ event: "management.internal_error", method: req.method, url: req.url, err }, "management API request failed");
    return send(reply, new HttpError(500, "internal_error", "Internal error"));
  }

  async listen(host: string, port: number): Promise<number> {
    await this.app.listen({ host: host === "" ? "::" : host, port });
    const address = this.app.server.address();
    this.port = typeof address === "object" && address !== null ? address.port : port;
    return this.port;
  }

  async close(): Promise<void> {
    this.ctx.rates.stop();
    await this.app.close();
  }
}

/**
 * What the broker refuses, as RabbitMQ's API answers it: a missing object 404 not_found, a refused
 * permission 401, anything else (an inequivalent declare, a bad argument, in use) 400 with the
 * text without its reply-code prefix.
 */
function fromAmqpError(err: AmqpError): HttpError {
  const text = err.message.replace(/^[A-Z_]+ - /, "");
  if (err.code === 404) return new HttpError(404, "not_found", text);
  if (err.code === 403) return httpError.notAuthorised("Access refused.");
  return httpError.badRequest(text);
}

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.header("cache-control", "no-cache").header("content-type", "application/json").send(jsonText(body));
}

function send(reply: FastifyReply, err: HttpError): FastifyReply {
  reply.code(err.status).headers(err.headers);
  if (err.error === "") return reply.send();
  return reply.header("content-type", "application/json").send(JSON.stringify({ error: err.error, reason: err.reason }));
}
