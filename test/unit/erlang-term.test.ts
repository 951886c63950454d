/**
 * Erlang's printing of field values in error texts (src/amqp/erlang-term.ts); every expectation
 * is what RabbitMQ 3.10.8 printed for an x-match of that value.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { erlangFloat, erlangTerm } from "../../src/amqp/erlang-term.js";
import { Decimal } from "../../src/amqp/field-types.js";

describe("erlangFloat: the shortest text, plain or with an exponent, plain on a tie", () => {
  const cases: Array<[number, string]> = [
    [1, "1.0"],
    [100, "100.0"],
    [1234567, "1234567.0"],
    [123456789.125, "123456789.125"],
    [0.1, "0.1"],
    [0.001, "0.001"],
    [0.0001, "0.0001"],
    [0.00012, "1.2e-4"],
    [2.5e-5, "2.5e-5"],
    [-0.5, "-0.5"],
    [1e15, "1.0e15"],
    [12345e10, "1.2345e14"],
    [1e21, "1.0e21"],
    [1.7976931348623157e308, "1.7976931348623157e308"],
    [5e-324, "5.0e-324"],
  ];
  for (const [x, text] of cases) it(`${x} is ${text}`, () => assert.equal(erlangFloat(x), text));
});

describe("erlangTerm", () => {
  it("scalars, binaries, void and decimals", () => {
    assert.equal(erlangTerm(5, "b"), "5");
    assert.equal(erlangTerm(true, "t"), "true");
    assert.equal(erlangTerm(1, "d"), "1.0");
    assert.equal(erlangTerm("all", "S"), '<<"all">>');
    assert.equal(erlangTerm(Buffer.from([1, 2, 200]), "x"), "<<1,2,200>>");
    assert.equal(erlangTerm(null, "V"), "undefined");
    assert.equal(erlangTerm(new Decimal(2, 12345), "D"), "{2,12345}");
    assert.equal(erlangTerm(new Date(1_700_000_000_000), "T"), "1700000000");
  });

  it("a list that does not fit in 80 columns from its column gets one element a line", () => {
    const table = { a: "x", b: [true] };
    assert.equal(erlangTerm(table, "F"), '[{<<"a">>,longstr,<<"x">>},{<<"b">>,array,[{bool,true}]}]');
    assert.equal(erlangTerm(table, "F", 40), `[{<<"a">>,longstr,<<"x">>},\n${" ".repeat(41)}{<<"b">>,array,[{bool,true}]}]`);
  });
});
