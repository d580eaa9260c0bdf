import { ApiError } from './errors';
import { MAX_USER_ID_BYTES } from './schemas';

/** A /v1/sign request after validation. */
export interface SignRequest {
  message?: Uint8Array;
  digest?: Uint8Array;
  keyIndex?: number;
  userId?: Uint8Array | string;
  format: SignatureFormat;
}

export type SignatureFormat = 'rs' | 'der' | 'fisco';

/** A /v1/verify request after validation. */
export interface VerifyRequest {
  message: Uint8Array;
  signature: Uint8Array;
  publicKey?: Uint8Array;
  keyIndex?: number;
  userId?: Uint8Array | string;
}

/** A body that passed its schema (schemas.ts): every field present has its type, form and bound. */
type CheckedBody = Record<string, string | number | undefined>;

function bad(code: string, message: string): ApiError {
  return new ApiError(400, code, message);
}

function hexBytes(text: string | number | undefined): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  return Uint8Array.from(Buffer.from(text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text, 'hex'));
}

/** `userId` (text) or `userIdHex` (bytes), not both; at most 8191 bytes either way. */
function userIdField(body: CheckedBody): Uint8Array | string | undefined {
  const text = body.userId as string | undefined;
  const bytes = hexBytes(body.userIdHex);
  if (text !== undefined && bytes !== undefined) throw bad('BAD_REQUEST', 'give userId or userIdHex, not both');
  const length = text === undefined ? (bytes?.length ?? 0) : Buffer.byteLength(text, 'utf8');
  if (length > MAX_USER_ID_BYTES) {
    throw bad('FIELD_TOO_LONG', `the user ID is over ${MAX_USER_ID_BYTES} bytes (its bit length must fit in 16 bits)`);
  }
  return text ?? bytes;
}

export function parseSignRequest(body: CheckedBody): SignRequest {
  const message = hexBytes(body.message);
  const digest = hexBytes(body.digest);
  if ((message === undefined) === (digest === undefined)) {
    throw bad('BAD_REQUEST', 'give exactly one of message or digest (hex)');
  }
  // The schema bounds the digest's text; a 0x prefix leaves 31 bytes in 64 characters.
  if (digest !== undefined && digest.length !== 32) {
    throw bad('BAD_LENGTH', `digest must be 32 bytes, got ${digest.length}`);
  }
  const userId = userIdField(body);
  if (digest !== undefined && userId !== undefined) {
    throw bad('BAD_REQUEST', 'userId applies to message only (a digest already includes Z)');
  }
  const out: SignRequest = { format: (body.format as SignatureFormat | undefined) ?? 'rs' };
  if (message !== undefined) out.message = message;
  if (digest !== undefined) out.digest = digest;
  if (body.keyIndex !== undefined) out.keyIndex = body.keyIndex as number;
  if (userId !== undefined) out.userId = userId;
  return out;
}

export function parseVerifyRequest(body: CheckedBody): VerifyRequest {
  const out: VerifyRequest = {
    message: hexBytes(body.message) as Uint8Array,
    signature: hexBytes(body.signature) as Uint8Array,
  };
  const publicKey = hexBytes(body.publicKey);
  if (publicKey !== undefined) out.publicKey = publicKey;
  if (body.keyIndex !== undefined) out.keyIndex = body.keyIndex as number;
  const userId = userIdField(body);
  if (userId !== undefined) out.userId = userId;
  return out;
}
