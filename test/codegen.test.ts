import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { generate, generatedPath, specPath } from "../scripts/gen-amqp.js";

test("src/amqp/generated.ts is what scripts/gen-amqp.ts makes of the spec (run `npm run gen`)", () => {
  const expected = generate(readFileSync(specPath, "utf8"));
  const actual = readFileSync(generatedPath, "utf8");
  assert.ok(actual === expected, "src/amqp/generated.ts is stale: run `npm run gen` and commit the result");
});
