/** How often writers holding a grown slab are checked for idleness (ms). */
export const IDLE_SLAB_SWEEP_MS = 1000;

/** A writer whose output slab can be given back while it writes nothing. */
export interface SlabHolder {
  /**
   * Called once per sweep. Returns true when the holder no longer holds a grown slab (it gave it
   * back, having written nothing since the last sweep, or it is closed): it is then forgotten
   * until it grows one again.
   */
  releaseIfIdle(): boolean;
}

const holders = new Set<SlabHolder>();
let timer: NodeJS.Timeout | undefined;

/**
 * Watch a holder that has just grown its slab past the initial size. One timer for the whole
 * process, running only while some holder is watched: a connection that once took a burst of
 * output does not keep 64 KiB (or more) for the rest of its life, and idle connections cost
 * nothing per connection to watch.
 */
export function watchGrownSlab(holder: SlabHolder): void {
  holders.add(holder);
  if (timer === undefined) {
    timer = setInterval(sweepIdleSlabs, IDLE_SLAB_SWEEP_MS);
    timer.unref();
  }
}

/** One sweep (the timer's; tests call it directly). */
export function sweepIdleSlabs(): void {
  for (const holder of holders) if (holder.releaseIfIdle()) holders.delete(holder);
  if (holders.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}
