/**
 * A growable ring buffer: O(1) push/shift/unshift, indexed access, and sorted insert.
 *
 * Queues keep ready messages in one, ordered by sequence number, so a requeued message goes back
 * to its old place (usually the front) without shifting an array.
 */
export class Deque<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.resize();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  unshift(item: T): void {
    if (this.count === this.items.length) this.resize();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  at(index: number): T {
    return this.items[(this.head + index) % this.items.length] as T;
  }

  /** Insert keeping ascending order of key(item); cheap when the item belongs at either end. */
  insertSorted(item: T, key: (item: T) => number): void {
    const k = key(item);
    if (this.count === 0 || k <= key(this.at(0))) return this.unshift(item);
    if (k >= key(this.at(this.count - 1))) return this.push(item);
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(this.at(mid)) < k) lo = mid + 1;
      else hi = mid;
    }
    // Shift the tail right by one from index lo.
    this.push(this.at(this.count - 1));
    for (let i = this.count - 2; i > lo; i--) this.items[(this.head + i) % this.items.length] = this.at(i - 1);
    this.items[(this.head + lo) % this.items.length] = item;
  }

  /** Remove everything, returning how many items there were. */
  clear(): number {
    const n = this.count;
    this.items = new Array<T | undefined>(16);
    this.head = 0;
    this.count = 0;
    return n;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }

  private resize(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.at(i);
    this.items = next;
    this.head = 0;
  }
}
