// Comb tables for the public keys that keep coming back. With one, t·P costs 43 doublings and
// additions instead of 256 doublings, and a verification about 40 % of one without (see comb.ts);
// building one costs about one verification. Only public data is held here, and a table only
// changes how fast an answer comes, never the answer (test/sm2/cache.test.ts checks this).
//
// Which keys get one (TinyLFU, with a build budget):
//   - a frequency sketch counts every key verified, the recent past weighing most;
//   - a key gets a table when it was seen at least twice lately and, with the cache full, more
//     often than the least recently used key, whose table it then replaces;
//   - builds are paid from a budget: every verification adds 0.5 % of a verification, every hit
//     two thirds of what it saved. A stream that never repeats a key (or churns through more keys
//     than the cache holds) thus loses at most about 0.5 % to building, a burst is at most four
//     builds, and tables that do get hits pay for the next ones.
// Memory: `capacity` tables of 5,544 bytes of limbs (5.4 MiB for the default 1,024) plus their
// objects and the key's id, and the sketch's 64 bytes a table.
import { buildCombTable, combTableBytes, type CombTable } from './comb';
import { bytesToHex } from './bytes';
import { FrequencySketch } from './frequency-sketch';
import type { KeyPoint } from './key-point';

export const KEY_TABLE_TEETH = 6;
const DEFAULT_CAPACITY = 1024;

/** Costs in verifications of an unknown key, as measured on x86-64 (bench/verify-keys.mjs). */
const BUILD_COST = 1.2; // 0.86–0.95 measured; the margin covers the garbage it leaves
const ALLOWANCE_PER_VERIFY = 0.005;
const CREDIT_PER_HIT = 0.35; // about two thirds of what a hit saves
const MAX_CREDIT = 4 * BUILD_COST;
const MIN_SIGHTINGS = 2;

export interface KeyTableCacheStats {
  /** Most tables kept. */
  capacity: number;
  /** Tables kept now. */
  tables: number;
  /** Bytes of limbs in those tables (each table's objects add about 0.3 KB). */
  tableBytes: number;
  /** Bytes of the frequency sketch. */
  sketchBytes: number;
  hits: number;
  misses: number;
  builds: number;
  evictions: number;
  /** Misses of keys seen often enough that waited for the build budget. */
  deferred: number;
}

interface Entry {
  readonly table: CombTable;
  readonly h1: number;
  readonly h2: number;
}

/** murmur3's 32-bit mixing of the 16 words of x||y, from a per-process random seed. */
function hashKey(xy: Uint8Array, seed: number): number {
  let h = seed;
  for (let i = 0; i < 64; i += 4) {
    let k = (xy[i] << 24) | (xy[i + 1] << 16) | (xy[i + 2] << 8) | xy[i + 3];
    k = Math.imul(k, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const SEED1 = (Math.random() * 2 ** 32) | 0;
const SEED2 = (Math.random() * 2 ** 32) | 0;

class KeyTableCache {
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private sketch: FrequencySketch;
  private credit = MAX_CREDIT;
  private counts = { hits: 0, misses: 0, builds: 0, evictions: 0, deferred: 0 };

  constructor(public capacity: number) {
    this.sketch = KeyTableCache.sketchFor(capacity);
  }

  private static sketchFor(capacity: number): FrequencySketch {
    // 16 counters a row per table: few collisions; halving every 8 verifications per table.
    return new FrequencySketch(16 * Math.max(capacity, 64), 8 * Math.max(capacity, 64));
  }

  lookup(key: KeyPoint): CombTable | null {
    if (this.capacity === 0) return null;
    this.credit = Math.min(MAX_CREDIT, this.credit + ALLOWANCE_PER_VERIFY);
    const h1 = hashKey(key.xy, SEED1);
    const h2 = hashKey(key.xy, SEED2) | 1;
    const seen = this.sketch.increment(h1, h2);
    const id = bytesToHex(key.xy);
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, entry);
      this.counts.hits++;
      this.credit = Math.min(MAX_CREDIT, this.credit + CREDIT_PER_HIT);
      return entry.table;
    }
    this.counts.misses++;
    if (seen < MIN_SIGHTINGS) return null;
    const victim = this.entries.size >= this.capacity ? this.entries.entries().next().value : undefined;
    if (victim !== undefined && seen <= this.sketch.estimate(victim[1].h1, victim[1].h2)) return null;
    if (this.credit < BUILD_COST) {
      this.counts.deferred++;
      return null;
    }
    this.credit -= BUILD_COST;
    const table = buildCombTable(key.x, key.y, KEY_TABLE_TEETH);
    this.counts.builds++;
    if (victim !== undefined) {
      this.entries.delete(victim[0]);
      this.counts.evictions++;
    }
    this.entries.set(id, { table, h1, h2 });
    return table;
  }

  configure(capacity: number): void {
    this.capacity = capacity;
    this.sketch = KeyTableCache.sketchFor(capacity);
    this.clear();
  }

  clear(): void {
    this.entries.clear();
    this.sketch.clear();
    this.credit = MAX_CREDIT;
    this.counts = { hits: 0, misses: 0, builds: 0, evictions: 0, deferred: 0 };
  }

  stats(): KeyTableCacheStats {
    return {
      capacity: this.capacity,
      tables: this.entries.size,
      tableBytes: this.entries.size * combTableBytes(KEY_TABLE_TEETH),
      sketchBytes: this.sketch.bytes,
      ...this.counts,
    };
  }
}

const cache = new KeyTableCache(DEFAULT_CAPACITY);

/** The key's comb table if it has one or earns one now (see above), else null. */
export function tableForKey(key: KeyPoint): CombTable | null {
  return cache.lookup(key);
}

/** Sets how many key tables are kept (0 turns the cache off) and empties the cache. */
export function configureKeyTableCache(opts: { capacity: number }): void {
  if (!Number.isInteger(opts.capacity) || opts.capacity < 0) {
    throw new RangeError(`key table cache capacity must be a non-negative integer, got ${opts.capacity}`);
  }
  cache.configure(opts.capacity);
}

/** Drops every table, the sighting counts and the statistics. */
export function clearKeyTableCache(): void {
  cache.clear();
}

export function keyTableCacheStats(): KeyTableCacheStats {
  return cache.stats();
}
