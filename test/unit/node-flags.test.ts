/**
 * The node flags the broker runs with (src/cli/node-flags.ts) are the same wherever it starts:
 * the `warren` bin's shebang and `npm start` (the bench harness and the test helper import the
 * list itself).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BROKER_NODE_FLAGS } from "../../src/cli/node-flags.js";

/** The checkout's root, seen from dist/test/unit. */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

describe("the broker's node flags", () => {
  it("are in the bin's shebang, as built", () => {
    const first = readFileSync(join(root, "dist", "src", "cli", "warren.js"), "utf8").split("\n")[0];
    assert.equal(first, `#!/usr/bin/env -S node ${BROKER_NODE_FLAGS.join(" ")}`);
  });

  it("are in npm start", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts.start!.includes(`node ${BROKER_NODE_FLAGS.join(" ")} dist/src/cli/warren.js`), pkg.scripts.start);
  });
});
