/**
 * The management API's login rules (src/mgmt/auth.ts) called directly, for what a test over
 * 127.0.0.1 cannot show: a loopback user from another address.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Broker } from "../../src/broker/broker.js";
import { authenticate } from "../../src/mgmt/auth.js";
import { HttpError } from "../../src/mgmt/http-error.js";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

function broker(): Broker {
  const b = new Broker();
  b.users.create("guest", "guest", ["administrator"]);
  b.users.create("remote", "pw", ["management"]);
  return b;
}

function refusal(run: () => unknown): HttpError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof HttpError);
    return err;
  }
  assert.fail("expected a refusal");
}

test("loopback_users log in from loopback addresses only, as RabbitMQ", () => {
  const b = broker();
  for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
    assert.equal(authenticate(b, ["guest"], basic("guest", "guest"), address).user.name, "guest");
  }
  const err = refusal(() => authenticate(b, ["guest"], basic("guest", "guest"), "10.1.2.3"));
  assert.deepEqual([err.status, err.error, err.reason], [401, "not_authorised", "User can only log in via localhost"]);
  assert.equal(authenticate(b, ["guest"], basic("remote", "pw"), "10.1.2.3").user.name, "remote");
  assert.equal(authenticate(b, [], basic("guest", "guest"), "10.1.2.3").isAdministrator, true);
});

test("a wrong password is refused before the loopback rule (nothing said about the user)", () => {
  const err = refusal(() => authenticate(broker(), ["guest"], basic("guest", "nope"), "10.1.2.3"));
  assert.deepEqual([err.status, err.error, err.reason], [401, "not_authorized", "Login failed"]);
});

test("an Authorization header that is not basic, or has no colon, is no credentials", () => {
  for (const header of [undefined, "Bearer abc", `Basic ${Buffer.from("nocolon").toString("base64")}`]) {
    const err = refusal(() => authenticate(broker(), [], header, "127.0.0.1"));
    assert.equal(err.status, 401);
    assert.equal(err.headers["www-authenticate"], 'Basic realm="RabbitMQ Management"');
  }
});
