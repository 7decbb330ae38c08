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
// "Garbage that outlived its request"). A dictionary of integer-keyed properties rehashes
// into a new store without linking the old one to it.

/** Values keyed by non-negative integer ids, iterated in ascending order of id. */
export class IdTable<V> {
  private entries = Object.create(null) as Record<number, V>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): V | undefined {
    return this.entries[id];
  }

  has(id: number): boolean {
    return this.entries[id] !== undefined;
  }

  /** Sets the value of `id`. `undefined` is not a value: use delete(). */
  set(id: number, value: V): void {
    if (this.entries[id] === undefined) this.count++;
    this.entries[id] = value;
  }

  /** Whether `id` had a value. */
  delete(id: number): boolean {
    if (this.entries[id] === undefined) return false;
    delete this.entries[id];
    this.count--;
    return true;
  }

  clear(): void {
    this.entries = Object.create(null) as Record<number, V>;
    this.count = 0;
  }

  /**
   * The ids with their values in ascending order of id, which is the order they were opened
   * in (ids count up from 1, and wrap only after 2^32 exchanges on one link). An entry
   * deleted during the iteration and not yet reached is skipped, as with a Map.
   */
  *[Symbol.iterator](): IterableIterator<[number, V]> {
    for (const key in this.entries) {
      const value = this.entries[key as unknown as number];
      if (value !== undefined) yield [Number(key), value];
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this) yield value;
  }
}
