// Private to src/pool: the front's wait queue, FIFO, with the time each entry arrived.
//
// One array and a head index (no shifting on every take): taken and cancelled
// entries leave holes, and the array is compacted only when the dead prefix is larger than
// the live part. A cancelled entry still counts in `size` until the head passes it, which
// keeps `size` O(1); it is never handed out.

interface Entry<T> {
  readonly item: T;
  readonly since: number;
}

export class WaitQueue<T> {
  private items: Array<Entry<T> | undefined> = [];
  private head = 0;

  /** Entries waiting, holes of cancelled ones included. */
  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T, now = Date.now()): void {
    this.items.push({ item, since: now });
  }

  /** Back to the head of the line (a request a worker gave back has waited longest). */
  unshift(item: T, now = Date.now()): void {
    const entry = { item, since: now };
    if (this.head > 0) this.items[--this.head] = entry;
    else this.items.unshift(entry);
  }

  /** The first live item, without taking it. */
  peek(): T | undefined {
    while (this.head < this.items.length) {
      const entry = this.items[this.head];
      if (entry !== undefined) return entry.item;
      this.advance();
    }
    return undefined;
  }

  shift(): T | undefined {
    const item = this.peek();
    if (item !== undefined) this.advance();
    return item;
  }

  remove(item: T): void {
    for (let at = this.head; at < this.items.length; at++) {
      if (this.items[at]?.item === item) this.items[at] = undefined;
    }
  }

  /** Takes out and returns every item that arrived at or before `before`. */
  expire(before: number): T[] {
    const out: T[] = [];
    for (let at = this.head; at < this.items.length; at++) {
      const entry = this.items[at];
      if (entry === undefined || entry.since > before) continue;
      this.items[at] = undefined;
      out.push(entry.item);
    }
    return out;
  }

  private advance(): void {
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}
