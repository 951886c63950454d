/**
 * A list that routing fills once per publish and empties after it, without allocating: `clear`
 * keeps the array's storage (assigning `length = 0` would make V8 drop it, and the next push
 * allocate it again). Exchanges only `push` into it.
 */
export class RouteList<T> {
  private readonly items: Array<T | undefined> = [];
  /** How many items are in the list. */
  length = 0;

  push(item: T): void {
    this.items[this.length++] = item;
  }

  /** The item at `index` (below `length`). */
  at(index: number): T {
    return this.items[index]!;
  }

  /** Empty the list, dropping its references (so nothing routed stays alive through it). */
  clear(): void {
    const items = this.items;
    for (let i = 0; i < this.length; i++) items[i] = undefined;
    this.length = 0;
  }
}
