/**
 * The UI's only way to the broker: the management HTTP API, with HTTP basic credentials kept in
 * sessionStorage (or localStorage when the user asked to be remembered), never in a URL.
 */

const STORAGE_KEY = "warren.credentials";

/** An API error: the HTTP status and RabbitMQ's `reason` text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** A JSON object as the API sends it. */
export type Json = Record<string, unknown>;

/** A page of a paginated list (`?page=`). */
export interface Paged<T> {
  items: T[];
  page: number;
  page_count: number;
  page_size: number;
  filtered_count: number;
  total_count: number;
}

/** One path segment, percent-encoded (`/` is `%2F`, as the API wants vhost names). */
export const seg = encodeURIComponent;

export class Api {
  /** Called when the stored credentials stop working (a user deleted, a password changed). */
  onUnauthorised: () => void = () => {};
  private authorization: string | undefined;

  constructor() {
    this.authorization = sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY) ?? undefined;
  }

  get loggedIn(): boolean {
    return this.authorization !== undefined;
  }

  /** Checks the credentials against /api/whoami and keeps them when they work. */
  async login(username: string, password: string, remember: boolean): Promise<Json> {
    const bytes = new TextEncoder().encode(`${username}:${password}`);
    const authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    const whoami = (await this.request("GET", "/api/whoami", undefined, {}, authorization)) as Json;
    this.authorization = authorization;
    (remember ? localStorage : sessionStorage).setItem(STORAGE_KEY, authorization);
    return whoami;
  }

  logout(): void {
    this.authorization = undefined;
    sessionStorage.removeItem(STORAGE_KEY);
    localStorage.removeItem(STORAGE_KEY);
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request("GET", path) as Promise<T>;
  }

  put(path: string, body: unknown): Promise<unknown> {
    return this.request("PUT", path, body);
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request("POST", path, body) as Promise<T>;
  }

  delete(path: string, headers: Record<string, string> = {}): Promise<unknown> {
    return this.request("DELETE", path, undefined, headers);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    authorization = this.authorization,
  ): Promise<unknown> {
    const response = await fetch(path, {
      method,
      // The credentials are this header alone. "omit" also keeps the browser from answering the
      // API's 401 challenge (WWW-Authenticate, as RabbitMQ sends it) with its own password dialog.
      credentials: "omit",
      headers: {
        ...headers,
        ...(authorization === undefined ? {} : { authorization }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = parseJson(text);
    if (!response.ok) {
      const { error, reason } = (json ?? {}) as { error?: unknown; reason?: unknown };
      const failure = new ApiError(response.status, String(error ?? response.statusText), String(reason ?? response.statusText));
      // "not_authorized" (with a z) is a failed login: the stored credentials no longer work.
      // "not_authorised" is a refused action, which the page shows.
      if (response.status === 401 && failure.error !== "not_authorised" && authorization === this.authorization) this.onUnauthorised();
      throw failure;
    }
    return json;
  }
}

/** The body as JSON; a body that is not JSON (a proxy's error page) is kept as its text. */
function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { error: "not_json", reason: text.slice(0, 200) };
  }
}
