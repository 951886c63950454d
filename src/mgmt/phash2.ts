/**
 * Erlang's erlang:phash2/1 (the VM's make_hash2) over the few kinds of term RabbitMQ builds for a
 * binding's arguments: atoms, integers, floats, binaries, tuples and lists. RabbitMQ's management
 * API names a binding with arguments by a hash of its argument table (rabbit_mgmt_format:args_hash:
 * base64url of phash2(Args, 2^32) in 32 bits), so tools that build that name themselves, or read
 * it from RabbitMQ, find the same binding on Warren. phash2 is portable by design (the same value
 * on every platform and release), which is what makes reproducing it possible.
 *
 * The hash walks the term depth first, left to right, mixing 32-bit words with Bob Jenkins'
 * lookup2 mix; each kind of term adds its own constant (a multiple of the golden ratio).
 */

/** An Erlang term: an atom, an integer, a float, a binary, a tuple or a proper list. */
export type ErlTerm = ErlAtom | number | bigint | ErlFloat | Buffer | ErlTuple | ErlTerm[];

export class ErlAtom {
  constructor(readonly name: string) {}
}

/** A float (a JS number alone is an integer here: Erlang tells 1 from 1.0). */
export class ErlFloat {
  constructor(readonly value: number) {}
}

export class ErlTuple {
  readonly items: ErlTerm[];
  constructor(...items: ErlTerm[]) {
    this.items = items;
  }
}

export const atom = (name: string) => new ErlAtom(name);

/** (golden ratio * n) mod 2^32: the constant each kind of term mixes in. */
const GOLDEN = 0x9e3779b9;
const golden = (n: number) => Math.imul(GOLDEN, n) >>> 0;
const C_INTEGER = golden(1);
const C_NIL = golden(2);
const C_ATOM = golden(3);
const C_TUPLE = golden(9);
const C_NEGATIVE_BIG = golden(10);
const C_POSITIVE_BIG = golden(11);
const C_FLOAT = golden(12);
const C_BINARY = golden(13);
/** The hash of [] alone (the VM's shortcut for a term that starts with nil). */
const NIL_ALONE = 3468870702;
/** NIL_DEF, the tag value the VM mixes in for [] after other terms. */
const NIL_TAG = 2;

/** Where a list's elements end and its tail [] is hashed. */
const LIST_END = Symbol("list end");

/** phash2(term, 2^32): the full 32-bit hash. */
export function phash2(term: ErlTerm): number {
  const h = new Hasher();
  h.term(term);
  return h.hash;
}

class Hasher {
  hash = 0;

  /** Depth first, left to right, in a loop: a term may nest as deep as a client's table does. */
  term(root: ErlTerm): void {
    const work: Array<ErlTerm | typeof LIST_END> = [root];
    while (work.length > 0) {
      const t = work.pop()!;
      if (t === LIST_END) {
        if (this.hash === 0) this.hash = NIL_ALONE;
        else this.mixWord(NIL_TAG, 0, C_NIL);
      } else if (typeof t === "number" || typeof t === "bigint") this.integer(BigInt(t));
      else if (t instanceof ErlAtom) this.atom(t.name);
      else if (t instanceof ErlFloat) this.float(t.value);
      else if (Buffer.isBuffer(t)) this.binary(t);
      else if (t instanceof ErlTuple) {
        this.mixWord(t.items.length, 0, C_TUPLE);
        for (let i = t.items.length - 1; i >= 0; i--) work.push(t.items[i]!);
      } else {
        // A list: each element in turn, then the tail []. (Lists of bytes, which the VM hashes as
        // strings, do not occur in argument tables.)
        work.push(LIST_END);
        for (let i = t.length - 1; i >= 0; i--) work.push(t[i]!);
      }
    }
  }

  private atom(name: string): void {
    const h = atomTableHash(Buffer.from(name, "latin1"));
    if (this.hash === 0) this.hash = h;
    else this.mixWord(h, 0, C_ATOM);
  }

  private integer(n: bigint): void {
    if (n >= -(1n << 27n) && n < 1n << 27n) {
      // A small integer: its 32 bits (negative ones mixed twice, once as their magnitude).
      const y = Number(n);
      if (y < 0) this.mixWord(-y >>> 0, 0, C_INTEGER);
      this.mixWord(y >>> 0, 0, C_INTEGER);
      return;
    }
    // Larger: the magnitude in 64-bit digits, each as (low word, high word).
    const constant = n < 0n ? C_NEGATIVE_BIG : C_POSITIVE_BIG;
    let magnitude = n < 0n ? -n : n;
    do {
      this.mixWord(Number(magnitude & 0xffffffffn), Number((magnitude >> 32n) & 0xffffffffn), constant);
      magnitude >>= 64n;
    } while (magnitude > 0n);
  }

  private float(v: number): void {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(v === 0 ? 0 : v); // -0.0 hashes as 0.0
    this.mixWord(bytes.readUInt32LE(4), bytes.readUInt32LE(0), C_FLOAT);
  }

  private binary(bytes: Buffer): void {
    const initial = (C_BINARY + this.hash) >>> 0;
    this.hash = bytes.length === 0 ? initial : blockHash(bytes, initial);
  }

  /** Mix two words, each offset by a constant, into the running hash. */
  private mixWord(x: number, y: number, constant: number): void {
    const m = mix((constant + x) >>> 0, (constant + y) >>> 0, this.hash);
    this.hash = m.c;
  }
}

/** Bob Jenkins' lookup2 mix of three 32-bit words. */
function mix(a: number, b: number, c: number): { a: number; b: number; c: number } {
  a = (a - b - c) >>> 0;
  a = (a ^ (c >>> 13)) >>> 0;
  b = (b - c - a) >>> 0;
  b = (b ^ (a << 8)) >>> 0;
  c = (c - a - b) >>> 0;
  c = (c ^ (b >>> 13)) >>> 0;
  a = (a - b - c) >>> 0;
  a = (a ^ (c >>> 12)) >>> 0;
  b = (b - c - a) >>> 0;
  b = (b ^ (a << 16)) >>> 0;
  c = (c - a - b) >>> 0;
  c = (c ^ (b >>> 5)) >>> 0;
  a = (a - b - c) >>> 0;
  a = (a ^ (c >>> 3)) >>> 0;
  b = (b - c - a) >>> 0;
  b = (b ^ (a << 10)) >>> 0;
  c = (c - a - b) >>> 0;
  c = (c ^ (b >>> 15)) >>> 0;
  return { a, b, c };
}

/** lookup2's hash of a byte string: 12 bytes at a time, the rest and the length in the last mix. */
function blockHash(bytes: Buffer, initial: number): number {
  let a = GOLDEN;
  let b = GOLDEN;
  let c = initial;
  let i = 0;
  for (; bytes.length - i >= 12; i += 12) {
    a = (a + bytes.readUInt32LE(i)) >>> 0;
    b = (b + bytes.readUInt32LE(i + 4)) >>> 0;
    c = (c + bytes.readUInt32LE(i + 8)) >>> 0;
    ({ a, b, c } = mix(a, b, c));
  }
  c = (c + bytes.length) >>> 0;
  // The last 0-11 bytes: little-endian into a, b and the upper three bytes of c.
  const rest = bytes.subarray(i);
  for (let k = 0; k < rest.length; k++) {
    const shifted = rest[k]! * 2 ** (8 * (k % 4));
    if (k < 4) a = (a + shifted) >>> 0;
    else if (k < 8) b = (b + shifted) >>> 0;
    else c = (c + rest[k]! * 2 ** (8 * ((k % 4) + 1))) >>> 0;
  }
  return mix(a, b, c).c;
}

/** The hash the VM's atom table keeps for an atom's name (hashpjw over its Latin-1 bytes). */
function atomTableHash(name: Buffer): number {
  let h = 0;
  for (const byte of name) {
    h = ((h << 4) + byte) >>> 0;
    const g = h & 0xf0000000;
    if (g !== 0) h = (h ^ (g >>> 24) ^ g) >>> 0;
  }
  return h;
}
