/** What feeding a chunk to a RequestLineReader gives. */
export type LineResult =
  /** No newline yet: feed more. */
  | { kind: "partial" }
  /** The first line, without its newline (bytes after it are ignored). */
  | { kind: "line"; line: Buffer }
  /** More than `maxBytes` arrived without a newline: nothing more should be read. */
  | { kind: "too_long" };

/**
 * Reads the first newline-terminated line of a stream, up to a limit. Each chunk is searched once
 * (only the new bytes), and the chunks are joined once, when the line is complete, so the cost is
 * linear in the bytes received and the memory at most `maxBytes` plus one chunk.
 */
export class RequestLineReader {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): LineResult {
    const nl = chunk.indexOf(0x0a);
    const take = nl < 0 ? chunk.length : nl;
    if (this.length + take > this.maxBytes) {
      this.chunks.length = 0;
      return { kind: "too_long" };
    }
    this.chunks.push(nl < 0 ? chunk : chunk.subarray(0, nl));
    this.length += take;
    if (nl < 0) return { kind: "partial" };
    const line = Buffer.concat(this.chunks, this.length);
    this.chunks.length = 0;
    return { kind: "line", line };
  }
}
