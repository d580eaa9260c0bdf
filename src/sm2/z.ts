import { assertBytes, bigIntTo32Bytes, describeType, plainBytes, utf8Bytes } from './bytes';
import { SM2_A, SM2_B, SM2_GX, SM2_GY } from './curve';
import { decodePublicKey } from './keys';
import { sm3Parts } from './sm3';

export const SM2_DEFAULT_USER_ID = '1234567812345678';

const DEFAULT_ID_BYTES = utf8Bytes(SM2_DEFAULT_USER_ID);
const CURVE_PART = new Uint8Array([
  ...bigIntTo32Bytes(SM2_A),
  ...bigIntTo32Bytes(SM2_B),
  ...bigIntTo32Bytes(SM2_GX),
  ...bigIntTo32Bytes(SM2_GY),
]);

export function userIdBytes(userId: Uint8Array | string | undefined): Uint8Array {
  if (userId === undefined) return DEFAULT_ID_BYTES;
  if (typeof userId === 'string') return utf8Bytes(userId);
  if (userId instanceof Uint8Array) return plainBytes(userId, 'userId');
  throw new TypeError(`userId must be a string or Uint8Array, got ${describeType(userId)}`);
}

/** Z from an already validated 64/65-byte public key; the ID length is checked here. */
export function computeZ(publicKey: Uint8Array, id: Uint8Array): Uint8Array {
  const bits = id.length * 8;
  if (bits > 0xffff)
    throw new RangeError(`user ID is ${id.length} bytes; its bit length must fit in 16 bits (at most 8191 bytes)`);
  const xy = publicKey.length === 65 ? publicKey.subarray(1) : publicKey;
  return sm3Parts([new Uint8Array([bits >>> 8, bits & 0xff]), id, CURVE_PART, xy]);
}

function checkedPublicKey(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, 'publicKey');
  if (decodePublicKey(publicKey) === null) {
    throw new TypeError(
      `public key is not a 64-byte x||y or 65-byte 04||x||y point on the SM2 curve (got ${publicKey.length} bytes)`,
    );
  }
  return publicKey;
}

/** Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GB/T 32918.2 §5.5. */
export function sm2Z(publicKey: Uint8Array, userId?: Uint8Array | string): Uint8Array {
  return computeZ(checkedPublicKey(publicKey), userIdBytes(userId));
}

/** e = SM3(Z || M). */
export function sm2Digest(publicKey: Uint8Array, message: Uint8Array, userId?: Uint8Array | string): Uint8Array {
  assertBytes(message, 'message');
  return sm3Parts([sm2Z(publicKey, userId), message]);
}
