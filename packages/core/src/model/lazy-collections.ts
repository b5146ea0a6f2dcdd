// A session's maps and sets are empty for most of its life: most clients
// never have a QoS 2 message in flight, many never subscribe. An empty Map
// costs ~185 B and an empty Set ~153 B on V8; these wrappers cost ~33 B
// until their first entry (issue 14). Once made, the collection is kept, so
// the per-message path (a set and a delete per QoS 1 message) allocates nothing.

const NO_ENTRIES: ReadonlyMap<unknown, unknown> = new Map();
const NO_MEMBERS: ReadonlySet<unknown> = new Set();

/** A Map made at its first entry: the reads a session's state needs, the writes its protocol makes. */
export class LazyMap<K, V> implements Iterable<[K, V]> {
  #map: Map<K, V> | undefined;

  /** The number of entries. */
  get size(): number {
    return this.#map === undefined ? 0 : this.#map.size;
  }

  /** The value for `key`, if any. */
  get(key: K): V | undefined {
    return this.#map?.get(key);
  }

  /** Whether `key` has a value. */
  has(key: K): boolean {
    return this.#map !== undefined && this.#map.has(key);
  }

  /** Sets `key` to `value` (the Map is made now if it was not). */
  set(key: K, value: V): this {
    (this.#map ??= new Map()).set(key, value);
    return this;
  }

  /** Removes `key`; whether it was there. */
  delete(key: K): boolean {
    return this.#map !== undefined && this.#map.delete(key);
  }

  /** Removes every entry, and the Map with them. */
  clear(): void {
    this.#map = undefined;
  }

  /** The values, in insertion order. */
  values(): MapIterator<V> {
    return (this.#map ?? (NO_ENTRIES as ReadonlyMap<K, V>)).values() as MapIterator<V>;
  }

  /** The keys, in insertion order. */
  keys(): MapIterator<K> {
    return (this.#map ?? (NO_ENTRIES as ReadonlyMap<K, V>)).keys() as MapIterator<K>;
  }

  /** The entries, in insertion order. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return (this.#map ?? (NO_ENTRIES as ReadonlyMap<K, V>)).entries() as MapIterator<[K, V]>;
  }
}

/** A Set made at its first member. */
export class LazySet<T> implements Iterable<T> {
  #set: Set<T> | undefined;

  /** The number of members. */
  get size(): number {
    return this.#set === undefined ? 0 : this.#set.size;
  }

  /** Whether `value` is a member. */
  has(value: T): boolean {
    return this.#set !== undefined && this.#set.has(value);
  }

  /** Adds `value` (the Set is made now if it was not). */
  add(value: T): this {
    (this.#set ??= new Set()).add(value);
    return this;
  }

  /** Removes `value`; whether it was there. */
  delete(value: T): boolean {
    return this.#set !== undefined && this.#set.delete(value);
  }

  /** Removes every member, and the Set with them. */
  clear(): void {
    this.#set = undefined;
  }

  /** The members, in insertion order. */
  [Symbol.iterator](): SetIterator<T> {
    return (this.#set ?? (NO_MEMBERS as ReadonlySet<T>)).values() as SetIterator<T>;
  }
}
