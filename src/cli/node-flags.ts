/**
 * Flags for node itself that the broker runs with: `npm start`, the `warren` bin (its shebang),
 * the bench harness and the test helper all pass exactly these (test/unit/node-flags.test.ts
 * checks the shebang and the start script).
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
