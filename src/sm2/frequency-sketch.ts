// A count-min sketch of how often each key was seen lately (TinyLFU's frequency filter): four
// rows of 8-bit counters, a key's estimate the least of its four counters. Every `period`
// increments all counters are halved, so old popularity fades. Estimates never undercount (until
// halving) and overcount only when keys collide in all four rows.

const ROWS = 4;
const MAX = 255;

export class FrequencySketch {
  private readonly counters: Uint8Array;
  private readonly mask: number;
  private readonly period: number;
  private increments = 0;

  /** `width` counters per row (rounded up to a power of two); halving every `period` increments. */
  constructor(width: number, period: number) {
    let size = 64;
    while (size < width) size *= 2;
    this.counters = new Uint8Array(ROWS * size);
    this.mask = size - 1;
    this.period = period;
  }

  get bytes(): number {
    return this.counters.byteLength;
  }

  /** The counter of `hash` in `row`: double hashing from the key's two 32-bit hashes. */
  private slot(row: number, h1: number, h2: number): number {
    return row * (this.mask + 1) + ((h1 + Math.imul(row, h2)) & this.mask);
  }

  estimate(h1: number, h2: number): number {
    let min = MAX;
    for (let row = 0; row < ROWS; row++) min = Math.min(min, this.counters[this.slot(row, h1, h2)]);
    return min;
  }

  /** Counts one sighting (only the least counters grow: "conservative update"); → the new estimate. */
  increment(h1: number, h2: number): number {
    const current = this.estimate(h1, h2);
    if (current < MAX) {
      for (let row = 0; row < ROWS; row++) {
        const at = this.slot(row, h1, h2);
        if (this.counters[at] === current) this.counters[at] = current + 1;
      }
    }
    if (++this.increments >= this.period) this.halve();
    return Math.min(current + 1, MAX);
  }

  private halve(): void {
    this.increments = 0;
    for (let i = 0; i < this.counters.length; i++) this.counters[i] >>>= 1;
  }

  clear(): void {
    this.counters.fill(0);
    this.increments = 0;
  }
}
