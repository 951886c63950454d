/**
 * JSON as RabbitMQ's management API decodes it (src/broker/json-term.ts): integers and floats
 * kept apart, and values echoed in validation texts as Erlang (~p) or Elixir (inspect) print them,
 * however deep they nest: an administrator's JSON reaches both walks.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { elixirJson, erlangJson, isJsonObject, JsonFloat, JsonTermError, parseJsonTerm } from "../../src/broker/json-term.js";

describe("parseJsonTerm", () => {
  it("keeps floats apart from integers, objects' own keys, the last duplicate", () => {
    const v = parseJsonTerm(' { "a" : [1, 1.0, 1e3, -2, "x\\"y", true, null, {}, []], "__proto__": {"p": 1}, "d": 1, "d": 2 } ');
    assert.ok(isJsonObject(v));
    const a = v.a as unknown[];
    assert.equal(a[0], 1);
    assert.ok(a[1] instanceof JsonFloat && a[2] instanceof JsonFloat);
    assert.deepEqual(a.slice(3), [-2, 'x"y', true, null, {}, []]);
    assert.ok(Object.hasOwn(v, "__proto__"), "__proto__ is a key like any other");
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(v.d, 2);
    assert.throws(() => parseJsonTerm("{"), JsonTermError);
  });

  it("reads and writes values nested 200,000 levels deep", () => {
    const depth = 200_000;
    const arrays = "[".repeat(depth) + "]".repeat(depth);
    assert.equal(erlangJson(parseJsonTerm(arrays)), arrays);
    const objects = '{"k":'.repeat(depth) + "1.5" + "}".repeat(depth);
    const erlang = erlangJson(parseJsonTerm(objects));
    assert.equal(erlang, '#{<<"k">> => '.repeat(depth) + "1.5" + "}".repeat(depth));
    const elixir = elixirJson(parseJsonTerm(objects));
    assert.equal(elixir, '%{"k" => '.repeat(depth) + "1.5" + "}".repeat(depth));
  });

  it("prints as Erlang and Elixir do: binaries, sorted map keys, floats, null", () => {
    const v = parseJsonTerm('{"b": [1, 2.0, "s"], "a": null}');
    assert.equal(erlangJson(v), '#{<<"a">> => null,<<"b">> => [1,2.0,<<"s">>]}');
    assert.equal(elixirJson(v), '%{"a" => :null, "b" => [1, 2.0, "s"]}');
  });
});
