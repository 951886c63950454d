/** Entries a new heap makes room for; it doubles from there as it fills, and halves as it empties. */
const INITIAL_CAPACITY = 64;

/**
 * A min-heap of (due time, log position) pairs in one Float64Array: the earliest due first, and
 * among equal due times the lower position (the earlier append), so messages due together leave
 * in the order they came. Sixteen bytes an entry and no object per entry: a million delayed
 * messages cost 16 MB here and their bytes in the log.
 */
export class DueHeap {
  /** Pairs: due at 2i, position at 2i + 1. */
  private slots = new Float64Array(INITIAL_CAPACITY * 2);
  /** Entries in the heap. */
  length = 0;

  /** The earliest due time; Infinity when the heap is empty. */
  get firstDue(): number {
    return this.length === 0 ? Number.POSITIVE_INFINITY : this.slots[0]!;
  }

  /** The position of the earliest entry (the heap is not empty). */
  get firstPosition(): number {
    return this.slots[1]!;
  }

  push(due: number, position: number): void {
    if ((this.length + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    const s = this.slots;
    let i = this.length++;
    // Sift up: move parents that come later down until the new entry's place is found.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pd = s[parent * 2]!;
      if (pd < due || (pd === due && s[parent * 2 + 1]! < position)) break;
      s[i * 2] = pd;
      s[i * 2 + 1] = s[parent * 2 + 1]!;
      i = parent;
    }
    s[i * 2] = due;
    s[i * 2 + 1] = position;
  }

  /** Remove the earliest entry (the heap is not empty); read it first with firstDue and firstPosition. */
  pop(): void {
    const n = --this.length;
    const s = this.slots;
    if (n > 0) {
      const due = s[n * 2]!;
      const position = s[n * 2 + 1]!;
      let i = 0;
      // Sift down the last entry from the root.
      for (;;) {
        let child = i * 2 + 1;
        if (child >= n) break;
        const right = child + 1;
        if (right < n && comesBefore(s, right, child)) child = right;
        const cd = s[child * 2]!;
        if (due < cd || (due === cd && position < s[child * 2 + 1]!)) break;
        s[i * 2] = cd;
        s[i * 2 + 1] = s[child * 2 + 1]!;
        i = child;
      }
      s[i * 2] = due;
      s[i * 2 + 1] = position;
    }
    // Give memory back once a burst has drained (a quarter full: halving leaves room to grow).
    if (s.length > INITIAL_CAPACITY * 2 && n * 8 < s.length) this.resize(s.length / 2);
  }

  /** Empty the heap and let go of its memory. */
  clear(): void {
    this.length = 0;
    this.slots = new Float64Array(INITIAL_CAPACITY * 2);
  }

  private resize(size: number): void {
    const next = new Float64Array(size);
    next.set(this.slots.subarray(0, this.length * 2));
    this.slots = next;
  }
}

/** Entry a comes before entry b. */
function comesBefore(s: Float64Array, a: number, b: number): boolean {
  const ad = s[a * 2]!;
  const bd = s[b * 2]!;
  return ad < bd || (ad === bd && s[a * 2 + 1]! < s[b * 2 + 1]!);
}
