/**
 * AMQP errors as values (issue 9, "errors with reasons"): each carries its reply code, RabbitMQ's
 * exact text, a machine-readable reason, and the method it names on the wire.
 *
 * The texts were observed on RabbitMQ 3.10.8 (amqplib against scripts/rabbitmq.sh's node):
 * passive declares of missing resources, deletes with if-unused / if-empty, redeclares with other
 * options, reserved names, the default exchange, another connection's exclusive queue.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpError, cutReplyText, fail, reasonOf, syntaxError } from "../../src/amqp/errors.js";
import { refuse, resourceName } from "../../src/amqp/refusals.js";
import { BASIC_PUBLISH, CLASS_BASIC, QUEUE_DECLARE, ReplyCode, TX_COMMIT } from "../../src/amqp/generated.js";

describe("refusals: RabbitMQ's texts and their reasons", () => {
  const cases: Array<[string, AmqpError, number, string, string]> = [
    ["missing queue", refuse.notFound("queue", "q1", "/"), 404, "not_found", "NOT_FOUND - no queue 'q1' in vhost '/'"],
    ["missing exchange", refuse.notFound("exchange", "x1", "v"), 404, "not_found", "NOT_FOUND - no exchange 'x1' in vhost 'v'"],
    ["queue in use", refuse.inUse("queue", "q1", "/"), 406, "in_use", "PRECONDITION_FAILED - queue 'q1' in vhost '/' in use"],
    ["exchange in use", refuse.inUse("exchange", "x1", "/"), 406, "in_use", "PRECONDITION_FAILED - exchange 'x1' in vhost '/' in use"],
    ["queue not empty", refuse.notEmpty("q1", "/"), 406, "not_empty", "PRECONDITION_FAILED - queue 'q1' in vhost '/' not empty"],
    [
      "inequivalent flag",
      refuse.inequivalentValue(resourceName("queue", "q1", "/"), "durable", false, true),
      406,
      "inequivalent_arg",
      "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q1' in vhost '/': received 'false' but current is 'true'",
    ],
    [
      "inequivalent type",
      refuse.inequivalentValue(resourceName("exchange", "x1", "/"), "type", "fanout", "direct"),
      406,
      "inequivalent_arg",
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x1' in vhost '/': received 'fanout' but current is 'direct'",
    ],
    [
      "reserved queue name",
      refuse.reservedName("queue", "amq.q"),
      403,
      "access_refused",
      "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'",
    ],
    [
      "reserved exchange name",
      refuse.reservedName("exchange", "amq.x"),
      403,
      "access_refused",
      "ACCESS_REFUSED - exchange name 'amq.x' contains reserved prefix 'amq.*'",
    ],
    ["default exchange", refuse.defaultExchange(), 403, "access_refused", "ACCESS_REFUSED - operation not permitted on the default exchange"],
    [
      "exclusive queue of another connection",
      refuse.exclusiveLocked(resourceName("queue", "q1", "/")),
      405,
      "resource_locked",
      "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'q1' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.",
    ],
    [
      "queue permission",
      refuse.resourceAccess("queue", "q1", "/", "u"),
      403,
      "access_refused",
      "ACCESS_REFUSED - access to queue 'q1' in vhost '/' refused for user 'u'",
    ],
    ["vhost access", refuse.vhostAccess("v", "u"), 530, "not_allowed", "NOT_ALLOWED - access to vhost 'v' refused for user 'u'"],
    [
      "vhost connection limit",
      refuse.vhostConnectionLimit("v", "u", 2),
      530,
      "limit_reached",
      "NOT_ALLOWED - access to vhost 'v' refused for user 'u': connection limit (2) is reached",
    ],
    ["node connection limit", refuse.nodeConnectionLimit(5), 530, "limit_reached", "NOT_ALLOWED - connection refused: node connection limit (5) is reached"],
    ["channel_max", refuse.channelLimit(3, 3), 530, "limit_reached", "NOT_ALLOWED - number of channels opened (3) has reached the negotiated channel_max (3)"],
    [
      "vhost queue limit",
      refuse.queueLimit("q1", "v", 1),
      406,
      "limit_reached",
      "PRECONDITION_FAILED - cannot declare queue 'q1': queue limit in vhost 'v' (1) is reached",
    ],
    ["unknown exchange type", refuse.unknownExchangeType("nope"), 503, "command_invalid", "COMMAND_INVALID - unknown exchange type 'nope'"],
  ];
  for (const [name, err, code, reason, text] of cases) {
    it(`${name}: ${code} ${reason}`, () => {
      assert.ok(err instanceof AmqpError);
      assert.equal(err.code, code);
      assert.equal(err.reason, reason);
      assert.equal(err.message, text);
    });
  }

  it("a topic refusal quoting a 255-byte routing key is cut to 255 bytes, on a character boundary", () => {
    const short = refuse.topicAccess("a.b", "amq.topic", "/", "u");
    assert.equal(short.message, "ACCESS_REFUSED - access to topic 'a.b' in exchange 'amq.topic' in vhost '/' refused for user 'u'");
    const long = refuse.topicAccess("é".repeat(127), "amq.topic", "/", "u");
    assert.equal(long.code, 403);
    assert.ok(Buffer.byteLength(long.message) <= 255);
    // "ACCESS_REFUSED - access to topic '" is 34 bytes: 218 bytes of 'é' (109 of them) fit before the cut at 252.
    assert.equal(long.message, `ACCESS_REFUSED - access to topic '${"é".repeat(109)}...`);
  });

  it("in_use and not_empty share 406 and are told apart by reason alone", () => {
    const inUse = refuse.inUse("queue", "q", "/");
    const notEmpty = refuse.notEmpty("q", "/");
    assert.equal(inUse.code, notEmpty.code);
    assert.notEqual(inUse.reason, notEmpty.reason);
  });
});

describe("AmqpError", () => {
  it("defaults the reason to the reply code's name, for every code the spec has from 300 up", () => {
    for (const [name, code] of Object.entries(ReplyCode)) {
      if (code < 300) continue;
      assert.equal(reasonOf(code), name.toLowerCase());
      assert.equal(new AmqpError({ code, text: name }).reason, name.toLowerCase());
    }
  });

  it("closes the channel for soft codes and the connection for hard ones, unless told otherwise", () => {
    assert.equal(fail.notFound("x").connectionLevel, false);
    assert.equal(fail.preconditionFailed("x").connectionLevel, false);
    assert.equal(fail.notAllowed("x").connectionLevel, true);
    assert.equal(fail.frameError("x").connectionLevel, true);
    assert.equal(fail.connectionForced("x").connectionLevel, true);
    assert.equal(syntaxError("SYNTAX_ERROR - x").connectionLevel, true);
    // A refused login is 403, a soft code, but there is no channel to close.
    assert.equal(new AmqpError({ code: ReplyCode.ACCESS_REFUSED, text: "ACCESS_REFUSED - x", connection: true }).connectionLevel, true);
  });

  it("names no method until one is attached, and keeps the first one attached", () => {
    const err = fail.notFound("no queue 'q' in vhost '/'");
    assert.deepEqual([err.classId, err.methodId], [0, 0]);
    assert.equal(err.attachMethod(QUEUE_DECLARE), err);
    assert.deepEqual([err.classId, err.methodId], [50, 10]);
    err.attachMethod(BASIC_PUBLISH); // an outer handler does not rename it
    assert.deepEqual([err.classId, err.methodId], [50, 10]);
  });

  it("made with method 0 names no method, and nothing attaches one later", () => {
    const err = new AmqpError({ code: ReplyCode.UNEXPECTED_FRAME, text: "UNEXPECTED_FRAME - x", method: 0 });
    err.attachMethod(BASIC_PUBLISH);
    assert.deepEqual([err.classId, err.methodId], [0, 0]);
  });

  it("made with a method names it", () => {
    const publish = fail.preconditionFailed("message size 10 is larger than configured max size 5").attachMethod(BASIC_PUBLISH);
    assert.deepEqual([publish.classId, publish.methodId], [CLASS_BASIC, 40]);
    const commit = new AmqpError({ code: ReplyCode.PRECONDITION_FAILED, text: "PRECONDITION_FAILED - partial tx completion", method: TX_COMMIT });
    assert.deepEqual([commit.classId, commit.methodId], [90, 20]);
  });

  it("cuts a text over 255 bytes to 252 bytes and '...', as RabbitMQ does", () => {
    const err = refuse.notFound("queue", "q".repeat(255), "/");
    assert.equal(Buffer.byteLength(err.message), 255);
    assert.equal(err.message, `NOT_FOUND - no queue '${"q".repeat(252 - 22)}...`);
    assert.equal(cutReplyText("short"), "short");
  });

  it("never cuts a character in two", () => {
    // 'é' is two bytes: a cut at byte 252 would split one; the text backs off to its start.
    const text = cutReplyText(`PRECONDITION_FAILED - ${"é".repeat(200)}`);
    assert.ok(Buffer.byteLength(text) <= 255);
    assert.ok(!text.includes("\ufffd"));
    assert.ok(text.endsWith("é..."));
  });
});
