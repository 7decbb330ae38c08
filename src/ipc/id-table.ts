// A table of values by exchange id, for the tables that gain and lose an entry with every
// request: a link's sinks and unsent credit, a worker's held requests.
//
// Why not a Map: V8 rebuilds a Map's hash table after enough deletions, and the table it
// leaves behind keeps pointers to its successor and to the entries it had, so that an
// iterator made before the rebuild can go on. Once such a table has been promoted to the old
// generation it is dead, but it still counts as a root in every young-generation collection
// until the next full one: its successor survives, is promoted, is left behind in its turn
// and keeps the next one alive, each with the requests it held. Under a steady load that
// chain made about half of the garbage that outlived its request (docs/performance.md,
// "Garbage that outlived its request").
//
// Why not a dictionary of integer-keyed properties, which this was next: every add and every
// delete of such a property goes through V8's runtime (its number dictionary), about 280 ns for
// a set, two gets and a delete against 10 ns here, and a request makes several of each
// (docs/performance.md, "The exchange tables").
//
// So it is an open-addressing table of its own: the ids in a Uint32Array, the values in a
// plain array, linear probing from a multiplicative (Fibonacci) hash of the id, at most half
// full. Not from `id & mask`: the ids in flight on a link are consecutive, so they would sit in
// one run of occupied slots, and a delete, which shifts the entries after it back (no
// tombstones), would walk the whole run every time. A resize builds new arrays and drops the
// old ones whole, with nothing pointing from the old to the new.

/** Slots the table starts with (a power of two). */
const MIN_CAPACITY = 16;
/**
 * The table shrinks only from above this many slots (12 bytes each): below it, the memory is
 * not worth a resize, and a table whose requests in flight swing between a few and a few dozen,
 * as under a steady load, would otherwise grow and shrink over and over.
 */
const SHRINK_ABOVE = 1024;
/** 2^32 divided by the golden ratio, rounded to an odd number: consecutive ids land far apart. */
const PHI32 = 0x9e3779b1;

/**
 * Values keyed by integer ids from 0 to 2^32 - 1 (a link's exchange ids), iterated in
 * ascending order of id.
 */
export class IdTable<V> {
  private ids!: Uint32Array;
  /** `undefined` marks an empty slot; every other value, 0 and null included, is an entry. */
  private slots!: (V | undefined)[];
  private mask!: number;
  /** 32 minus log2 of the capacity: the hash is the top bits of the id times 2^32 / phi. */
  private shift!: number;
  private count!: number;

  constructor() {
    this.empty(MIN_CAPACITY);
  }

  get size(): number {
    return this.count;
  }

  get(id: number): V | undefined {
    const { ids, slots, mask } = this;
    for (let i = Math.imul(id, PHI32) >>> this.shift; ; i = (i + 1) & mask) {
      const value = slots[i];
      if (value === undefined || ids[i] === id) return value;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Sets the value of `id`. `undefined` is not a value: use delete(). */
  set(id: number, value: V): void {
    if (!(id >= 0 && id <= 0xffffffff && Number.isInteger(id))) {
      throw new RangeError(`IdTable id out of range (0 to 2^32 - 1): ${id}`);
    }
    if ((this.count + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    const { ids, slots, mask } = this;
    for (let i = Math.imul(id, PHI32) >>> this.shift; ; i = (i + 1) & mask) {
      if (slots[i] === undefined) {
        ids[i] = id;
        slots[i] = value;
        this.count++;
        return;
      }
      if (ids[i] === id) {
        slots[i] = value;
        return;
      }
    }
  }

  /** Whether `id` had a value. */
  delete(id: number): boolean {
    const { ids, slots, mask, shift } = this;
    let hole = Math.imul(id, PHI32) >>> shift;
    for (; ; hole = (hole + 1) & mask) {
      const value = slots[hole];
      if (value === undefined) return false;
      if (ids[hole] === id) break;
    }
    // Backward shift: an entry further along the run moves into the hole unless its own slot
    // (where its probe starts) lies after the hole and up to where it is, cyclically; then
    // the hole moves to where it was. The run ends at the first empty slot.
    for (let next = (hole + 1) & mask; slots[next] !== undefined; next = (next + 1) & mask) {
      const home = Math.imul(ids[next] as number, PHI32) >>> shift;
      const staysPut = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (staysPut) continue;
      ids[hole] = ids[next] as number;
      slots[hole] = slots[next];
      hole = next;
    }
    slots[hole] = undefined;
    this.count--;
    // A burst of requests in flight grew the table; give the memory back once it is past.
    if (this.slots.length > SHRINK_ABOVE && this.count * 8 < this.slots.length) {
      this.resize(this.slots.length / 2);
    }
    return true;
  }

  clear(): void {
    this.empty(MIN_CAPACITY);
  }

  /**
   * The ids with their values in ascending order of id, which is the order they were opened
   * in (ids count up from 1, and wrap only after 2^32 exchanges on one link). An entry
   * deleted during the iteration and not yet reached is skipped, as with a Map; one added
   * during it is not visited.
   */
  *[Symbol.iterator](): IterableIterator<[number, V]> {
    const live = new Uint32Array(this.count);
    let n = 0;
    const { ids, slots } = this;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== undefined) live[n++] = ids[i] as number;
    live.sort(); // numerically: a typed array's sort compares numbers
    for (const id of live) {
      const value = this.get(id);
      if (value !== undefined) yield [id, value];
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this) yield value;
  }

  private resize(capacity: number): void {
    const { ids, slots } = this;
    this.empty(capacity);
    for (let i = 0; i < slots.length; i++) {
      const value = slots[i];
      if (value !== undefined) this.set(ids[i] as number, value);
    }
  }

  /** New, empty arrays of `capacity` slots (a power of two); the old ones are dropped whole. */
  private empty(capacity: number): void {
    this.ids = new Uint32Array(capacity);
    this.slots = new Array<V | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.count = 0;
  }
}
