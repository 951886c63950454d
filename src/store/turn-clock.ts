/**
 * The wall clock read once per event-loop turn. Date.now() returns a new heap number at every
 * call, and the store stamps every message it appends; messages appended in one turn arrived
 * together (from the same socket reads), so they share the turn's stamp.
 */
let now = 0;
let fresh = false;

function expire(): void {
  fresh = false;
}

/** Milliseconds since the epoch, as Date.now() gave them at the first call of this event-loop turn. */
export function turnTime(): number {
  if (!fresh) {
    now = Date.now();
    fresh = true;
    setImmediate(expire);
  }
  return now;
}
