// Verification tables for public keys seen again. A node verifies the same few signers over and
// over; for them a fixed-window table turns t·P into ~44 mixed additions instead of ~256
// doublings. A key seen only once is not worth the table (it costs about 15 verifications), so a
// table is built on a key's second sighting. Both lists are bounded and evict the least recently
// used entry. Only public data is held here.
import { buildFixedBaseTable, type FixedBaseTable } from './jacobian';

export const KEY_TABLE_WINDOW = 6;
const DEFAULT_CAPACITY = 64;

export interface KeyTableCacheStats {
  capacity: number;
  tables: number;
  hits: number;
  builds: number;
}

class LruMap<V> {
  private readonly map = new Map<string, V>();
  constructor(public capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.trim();
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  trim(): void {
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }

  clear(): void {
    this.map.clear();
  }
}

const tables = new LruMap<FixedBaseTable>(DEFAULT_CAPACITY);
const seenOnce = new LruMap<true>(4 * DEFAULT_CAPACITY);
let hits = 0;
let builds = 0;

/** The table of (x, y) if the key was seen before (building it now on the second sighting), else null. */
export function tableForKey(x: bigint, y: bigint): FixedBaseTable | null {
  if (tables.capacity === 0) return null;
  const id = `${x.toString(16)}:${y.toString(16)}`;
  const cached = tables.get(id);
  if (cached !== undefined) {
    hits++;
    return cached;
  }
  if (seenOnce.get(id) === undefined) {
    seenOnce.set(id, true);
    return null;
  }
  seenOnce.delete(id);
  const table = buildFixedBaseTable(x, y, KEY_TABLE_WINDOW);
  builds++;
  tables.set(id, table);
  return table;
}

/** Sets how many key tables are kept (0 turns the cache off) and empties the cache. */
export function configureKeyTableCache(opts: { capacity: number }): void {
  if (!Number.isInteger(opts.capacity) || opts.capacity < 0) {
    throw new RangeError(`key table cache capacity must be a non-negative integer, got ${opts.capacity}`);
  }
  tables.capacity = opts.capacity;
  seenOnce.capacity = 4 * opts.capacity;
  clearKeyTableCache();
}

export function clearKeyTableCache(): void {
  tables.clear();
  seenOnce.clear();
  hits = 0;
  builds = 0;
}

export function keyTableCacheStats(): KeyTableCacheStats {
  return { capacity: tables.capacity, tables: tables.size, hits, builds };
}
