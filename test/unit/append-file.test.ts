/**
 * The append-only file behind ack markers and the definitions journal (src/store/append-file.ts):
 * appends wait in a slab that starts small and grows, and reach the file in order, byte for byte.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppendFile } from "../../src/store/append-file.js";
import { nodeFs } from "../../src/store/store-fs.js";

function entry(i: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(i, 0);
  b.writeUInt32BE(~i >>> 0, 4);
  return b;
}

describe("AppendFile", () => {
  it("keeps every append in order across slab growth and past the slab's largest size", () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-unit-append-"));
    try {
      const path = join(dir, "f");
      const file = AppendFile.open(nodeFs, path);
      // 1.6 MB in one turn: the slab doubles from its first size, then is written out when full.
      const count = 200_000;
      for (let i = 0; i < count; i++) assert.equal(file.append(entry(i)), i * 8);
      const big = Buffer.alloc(3 * 1024 * 1024, 7); // larger than any slab
      file.append(big);
      file.append(entry(count));
      file.writePending();
      file.close();
      const data = readFileSync(path);
      assert.equal(data.length, count * 8 + big.length + 8);
      for (let i = 0; i < count; i++) assert.ok(data.subarray(i * 8, i * 8 + 8).equals(entry(i)), `entry ${i}`);
      assert.ok(data.subarray(count * 8, count * 8 + big.length).equals(big));
      assert.ok(data.subarray(count * 8 + big.length).equals(entry(count)));

      const reopened = AppendFile.open(nodeFs, path);
      assert.equal(reopened.size, data.length, "reopened at its end");
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
