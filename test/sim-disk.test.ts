/**
 * The simulated disk of the power-loss tests (test/power-loss/sim-disk.ts): what survives a power
 * loss is what the model says, or the campaign proves nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SimDisk } from "./power-loss/sim-disk.js";
import { seededRandom } from "./helpers/seeded-random.js";

const ROOT = "/sim";
const syncData = (disk: SimDisk, fd: number) => new Promise<void>((resolve, reject) => disk.fdatasync(fd, (err) => (err ? reject(err) : resolve())));

/** A file with synced "durable" bytes, then unsynced "later" bytes; its name made durable. */
async function halfSynced(): Promise<SimDisk> {
  const disk = new SimDisk(ROOT);
  disk.mkdir(`${ROOT}/q`);
  const fd = disk.open(`${ROOT}/q/f`, "a+");
  disk.write(fd, Buffer.from("durable|"), 0, 8, null);
  await syncData(disk, fd);
  disk.fsync(disk.open(`${ROOT}/q`, "r"));
  disk.fsync(disk.open(ROOT, "r"));
  disk.write(fd, Buffer.alloc(9000, 0x61), 0, 9000, null);
  return disk;
}

describe("the simulated disk", () => {
  it("keeps synced bytes in every crash image; unsynced ones survive as a prefix or as a subset of pages", async () => {
    const disk = await halfSynced();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const mode = i % 2 === 0 ? "prefix" : "pages";
      const bytes = disk.crashImage(mode, seededRandom(i)).readFile(`${ROOT}/q/f`)!;
      assert.equal(bytes.subarray(0, 8).toString(), "durable|");
      const rest = bytes.subarray(8);
      if (mode === "prefix")
        assert.ok(
          rest.every((b) => b === 0x61),
          "a prefix has no holes",
        );
      else
        assert.ok(
          rest.every((b) => b === 0x61 || b === 0),
          "a lost page reads as zeros",
        );
      seen.add(`${mode}:${rest.length}:${rest.includes(0)}`);
    }
    const prefixLengths = [...seen].filter((s) => s.startsWith("prefix:")).map((s) => Number(s.split(":")[1]));
    assert.ok(prefixLengths.some((n) => n < 9000) && prefixLengths.some((n) => n === 9000), "a write survives whole or cut");
    assert.ok(
      [...seen].some((s) => s.endsWith(":true")),
      "in pages mode a hole can be left before a page that landed",
    );
  });

  it("a new file whose folder was not fsynced can vanish, data and all, even after fdatasync", async () => {
    const disk = new SimDisk(ROOT);
    const fd = disk.open(`${ROOT}/new`, "a+");
    disk.write(fd, Buffer.from("x"), 0, 1, null);
    await syncData(disk, fd);
    const images = Array.from({ length: 40 }, (_, i) => disk.crashImage("prefix", seededRandom(i)));
    assert.ok(images.some((d) => !d.exists(`${ROOT}/new`)));
    disk.fsync(disk.open(ROOT, "r"));
    for (let i = 0; i < 40; i++) assert.equal(disk.crashImage("pages", seededRandom(i)).readFile(`${ROOT}/new`)?.toString(), "x");
  });

  it("an fdatasync covers only writes made before it was called, and only once it completes", async () => {
    const disk = await halfSynced();
    const fd = disk.open(`${ROOT}/q/f`, "a+");
    const sync = syncData(disk, fd);
    disk.write(fd, Buffer.from("after"), 0, 5, null);
    // Not complete yet: the 9000 bytes may still be lost.
    assert.ok(Array.from({ length: 40 }, (_, i) => disk.crashImage("prefix", seededRandom(i))).some((d) => d.readFile(`${ROOT}/q/f`)!.length < 9008));
    await sync;
    for (let i = 0; i < 40; i++) assert.ok(disk.crashImage("prefix", seededRandom(i)).readFile(`${ROOT}/q/f`)!.length >= 9008);
  });

  it("a failed fdatasync loses the writes it covered (the kernel marks the pages clean)", async () => {
    const disk = await halfSynced();
    disk.faults = (op) => (op === "fdatasync" ? "EIO" : undefined);
    const fd = disk.open(`${ROOT}/q/f`, "a+");
    await assert.rejects(syncData(disk, fd), { code: "EIO" });
    disk.faults = undefined;
    assert.equal(disk.readFile(`${ROOT}/q/f`)!.length, 9008, "reads still see them");
    await syncData(disk, fd);
    for (let i = 0; i < 20; i++) assert.equal(disk.crashImage("pages", seededRandom(i)).readFile(`${ROOT}/q/f`)!.length, 8);
  });

  it("a rename is durable once its folder is fsynced; before that the old name may survive", () => {
    const disk = new SimDisk(ROOT);
    const fd = disk.open(`${ROOT}/a.tmp`, "w");
    disk.write(fd, Buffer.from("new"), 0, 3, 0);
    disk.fsync(fd);
    disk.fsync(disk.open(ROOT, "r"));
    disk.rename(`${ROOT}/a.tmp`, `${ROOT}/a`);
    const before = Array.from({ length: 40 }, (_, i) => disk.crashImage("prefix", seededRandom(i)));
    assert.ok(before.some((d) => d.exists(`${ROOT}/a.tmp`) && !d.exists(`${ROOT}/a`)));
    disk.fsync(disk.open(ROOT, "r"));
    for (let i = 0; i < 20; i++) assert.equal(disk.crashImage("prefix", seededRandom(i)).readFile(`${ROOT}/a`)?.toString(), "new");
  });
});
