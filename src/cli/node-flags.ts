/**
 * Flags for node itself that the broker runs with: `npm start`, the `warren` bin (its shebang),
 * the bench harness and the test helper all pass exactly these, with BROKER_ENV
 * (test/unit/node-flags.test.ts checks the shebang and the start script).
 *
 * `--max-semi-space-size=2` (MiB; V8's default grows it to 16): V8 counts the ArrayBuffer memory
 * allocated since its last full collection against the old generation's limit, and every socket
 * read is a fresh ArrayBuffer (Node allocates one per read of an accepted socket; no public API
 * lets a server reuse one). Warren leaves so little garbage per message that young collections,
 * which free those buffers, came only every 4-16 MiB of allocation, while 8 MiB of reads arrived
 * in between: V8 then ran a full mark-compact of the heap every ~100 ms (docs/benchmarks.md,
 * "Mark-compacts from socket buffers"). A 2 MiB young generation is collected often enough that
 * the reads never pile up to the limit, and it costs no memory (it is smaller than the default).
 */
export const BROKER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];

/**
 * Environment the broker runs with, for the C allocator (glibc's malloc; others ignore it).
 *
 * `MALLOC_MMAP_THRESHOLD_=131072` (128 KiB, glibc's default, made fixed): glibc raises its mmap
 * threshold to the size of every mmapped block freed, up to 32 MiB. The first segment buffer
 * (8 MiB) that V8 frees takes it to 8 MiB, and from then on segment buffers, read-back windows
 * and grown buffers come from the heap arena, whose freed space stays resident: about 35 MB of a
 * 1,000,000-message backlog's growth (74 B a message, 41 B with it fixed; docs/benchmarks.md,
 * "Stop 19: memory per queue"). Fixed, blocks of 128 KiB and more are mapped and unmapped, so
 * what a freed segment held goes back to the system; socket reads and frame-writer slabs (64 KiB)
 * stay in the arena, and spare segment buffers are reused as before.
 */
export const BROKER_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "131072" };

/** BROKER_ENV as `NAME=value` words, for a shell command line or `env -S`. */
export const BROKER_ENV_WORDS: readonly string[] = Object.entries(BROKER_ENV).map(([name, value]) => `${name}=${value}`);
