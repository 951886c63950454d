/**
 * Flags for node itself that the broker runs with: `npm start`, the `warren` bin (its shebang),
 * the container, the bench harness and the test helper all pass exactly these, with BROKER_ENV
 * (test/unit/node-flags.test.ts checks the shebang, the start script and the Dockerfile).
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
 * Environment the broker process starts with (read by the C library when the process starts, so
 * it cannot be set from inside it; the same places as BROKER_NODE_FLAGS set it).
 *
 * `MALLOC_MMAP_THRESHOLD_=131072`: glibc serves allocations of 128 KiB and more (segment buffers,
 * large socket reads) with their own mmap, returned to the system when freed. By default the
 * threshold moves up to the size of the largest block freed, up to 32 MiB: after the first segment
 * buffers of a backlog are freed, later ones come from the heap, whose freed space glibc keeps.
 * A backlog of 1,000,000 × 16 B then left 74 bytes of resident memory per message instead of
 * about 40 (docs/benchmarks.md, scenario 10). Setting the threshold fixes it where it starts.
 * Other C libraries ignore the variable.
 */
export const BROKER_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "131072" };

/** BROKER_ENV as `NAME=value` words, for a shell command line or `env -S`. */
export function brokerEnvAssignments(): string {
  return Object.entries(BROKER_ENV)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
}
