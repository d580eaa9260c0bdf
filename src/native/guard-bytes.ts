/**
 * Output buffers handed to a foreign library end in guard bytes of a known pattern. A library
 * that writes past the room it was given (a struct larger in its header than in ours) then
 * overwrites our guard instead of the heap next to the buffer, and the check after the call
 * turns that into an error every time instead of a crash now and then.
 */
export const GUARD_BYTES = 32;
const GUARD_FILL = 0xa5;

/**
 * A zeroed buffer of `capacity` bytes followed by the guard. Taken from Node's buffer pool
 * (8 times cheaper than Buffer.alloc for a struct) unless it is to hold a secret, which gets
 * memory of its own that the caller zeroes after use.
 */
export function guardedBuffer(capacity: number, secret = false): Buffer {
  // A secret gets memory of its own (not a slice of the shared pool), zeroed by alloc.
  const buffer = secret
    ? Buffer.alloc(capacity + GUARD_BYTES)
    : Buffer.allocUnsafe(capacity + GUARD_BYTES).fill(0, 0, capacity);
  buffer.fill(GUARD_FILL, capacity);
  return buffer;
}

/** Room the library may write to: the buffer without its guard. */
export function capacityOf(buffer: Buffer): number {
  return buffer.length - GUARD_BYTES;
}

/** Marks the guard of `buffer` as overwritten: the output is to be refused as one that overran its room. */
export function spoilGuard(buffer: Buffer): void {
  buffer[buffer.length - GUARD_BYTES] = GUARD_FILL ^ 0xff;
}

/** True while the guard at the end of `buffer` is untouched. */
export function guardIntact(buffer: Buffer): boolean {
  for (let i = buffer.length - GUARD_BYTES; i < buffer.length; i++) if (buffer[i] !== GUARD_FILL) return false;
  return true;
}
