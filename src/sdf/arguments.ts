/** Checks of the arguments every session method takes, before anything reaches the device. */

export function requireBytes(value: Uint8Array, what: string, length?: number): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, got ${value.length}`);
  }
}

/** An index the device takes as an `unsigned int`. */
export function requireIndex(index: number, what = 'key index'): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new RangeError(`${what} must be an integer from 0 to 4294967295, got ${index}`);
  }
}
