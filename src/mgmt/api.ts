/**
 * The shape every API route has: a handler gets the call (who, path parameters, query, body) and
 * returns the JSON to answer with, or a Reply for another status. Routes are registered per
 * resource (src/mgmt/routes/*.ts) on an ApiRouter, which the server backs with fastify.
 */
import type { Principal } from "./auth.js";
import type { Query } from "./listing.js";

export interface ApiCall {
  /** The logged-in user; undefined only on routes registered with `{ public: true }`. */
  principal: Principal;
  /** Path parameters, percent-decoded after the path was split (`%2F` is `/`). */
  params: Record<string, string>;
  query: Query;
  /** The parsed JSON body (undefined when there was none). */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The client's address. */
  remoteAddress: string | undefined;
}

/** A response other than 200 with the returned JSON. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** 201 Created (PUT of a new object), 204 No Content (changed or deleted). */
export const created = (headers: Record<string, string> = {}) => new Reply(201, undefined, headers);
export const noContent = () => new Reply(204);

export type Handler = (call: ApiCall) => unknown;

export interface RouteOptions {
  /** No login needed (/api/auth). */
  public?: boolean;
}

export interface ApiRouter {
  get(path: string, handler: Handler, options?: RouteOptions): void;
  put(path: string, handler: Handler): void;
  post(path: string, handler: Handler): void;
  delete(path: string, handler: Handler): void;
}
