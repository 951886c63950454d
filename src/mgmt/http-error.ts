/**
 * An HTTP API failure with RabbitMQ's status and body: `{"error": ..., "reason": ...}`. Routes
 * throw these; the server turns them into the response (src/mgmt/server.ts).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: unknown,
    /** Extra response headers (WWW-Authenticate on a failed login). */
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof reason === "string" ? reason : JSON.stringify(reason));
    this.name = "HttpError";
  }
}

/** The realm RabbitMQ names in WWW-Authenticate; clients and browsers show it. */
export const AUTH_REALM = 'Basic realm="RabbitMQ Management"';

export const httpError = {
  /** 404 as RabbitMQ words it for any missing object or unknown path. */
  notFound: () => new HttpError(404, "Object Not Found", "Not Found"),
  badRequest: (reason: unknown) => new HttpError(400, "bad_request", reason),
  /** No credentials at all: RabbitMQ answers 401 with the challenge and no body. */
  noCredentials: () => new HttpError(401, "", undefined, { "www-authenticate": AUTH_REALM }),
  /** A login that failed: RabbitMQ spells this one "not_authorized", with a z. */
  loginFailed: (reason = "Login failed") => new HttpError(401, "not_authorized", reason, { "www-authenticate": AUTH_REALM }),
  /** Logged in but not allowed: "not_authorised", with an s (rabbit_mgmt_util). */
  notAuthorised: (reason: string) => new HttpError(401, "not_authorised", reason),
  methodNotAllowed: () => new HttpError(405, "Method Not Allowed", "Method Not Allowed"),
};
