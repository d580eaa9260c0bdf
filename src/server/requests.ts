import { ApiError } from './errors';

/** A /v1/sign request after validation. */
export interface SignRequest {
  message?: Uint8Array;
  digest?: Uint8Array;
  keyIndex?: number;
  userId?: Uint8Array | string;
  format: SignatureFormat;
}

export type SignatureFormat = 'rs' | 'der' | 'fisco';
const FORMATS: readonly SignatureFormat[] = ['rs', 'der', 'fisco'];

/** A /v1/verify request after validation. */
export interface VerifyRequest {
  message: Uint8Array;
  signature: Uint8Array;
  publicKey?: Uint8Array;
  userId?: Uint8Array | string;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function bad(code: string, message: string): ApiError {
  return new ApiError(400, code, message);
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw bad('BAD_REQUEST', 'expected a JSON object');
  }
  return body as Record<string, unknown>;
}

function hexField(body: Record<string, unknown>, field: string, length?: number): Uint8Array | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad('BAD_REQUEST', `${field} must be a hex string`);
  const text = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  if (!HEX.test(text)) throw bad('BAD_HEX', `${field} is not an even number of hex digits`);
  const bytes = Uint8Array.from(Buffer.from(text, 'hex'));
  if (length !== undefined && bytes.length !== length) {
    throw bad('BAD_LENGTH', `${field} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function requiredHex(body: Record<string, unknown>, field: string): Uint8Array {
  const bytes = hexField(body, field);
  if (bytes === undefined) throw bad('BAD_REQUEST', `${field} is required`);
  return bytes;
}

/** `userId` (text) or `userIdHex` (bytes), not both. */
function userIdField(body: Record<string, unknown>): Uint8Array | string | undefined {
  const text = body.userId;
  const bytes = hexField(body, 'userIdHex');
  if (text !== undefined && bytes !== undefined) throw bad('BAD_REQUEST', 'give userId or userIdHex, not both');
  if (text === undefined) return bytes;
  if (typeof text !== 'string') throw bad('BAD_REQUEST', 'userId must be a string');
  return text;
}

function keyIndexField(body: Record<string, unknown>): number | undefined {
  const value = body.keyIndex;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw bad('BAD_REQUEST', 'keyIndex must be an integer in 0..2147483647');
  }
  return value;
}

export function parseSignRequest(body: unknown): SignRequest {
  const fields = object(body);
  const message = hexField(fields, 'message');
  const digest = hexField(fields, 'digest', 32);
  if ((message === undefined) === (digest === undefined)) {
    throw bad('BAD_REQUEST', 'give exactly one of message or digest (hex)');
  }
  const userId = userIdField(fields);
  if (digest !== undefined && userId !== undefined) {
    throw bad('BAD_REQUEST', 'userId applies to message only (a digest already includes Z)');
  }
  const format = fields.format ?? 'rs';
  if (!FORMATS.includes(format as SignatureFormat))
    throw bad('BAD_REQUEST', `format must be one of ${FORMATS.join(', ')}`);
  const out: SignRequest = { format: format as SignatureFormat };
  if (message !== undefined) out.message = message;
  if (digest !== undefined) out.digest = digest;
  const keyIndex = keyIndexField(fields);
  if (keyIndex !== undefined) out.keyIndex = keyIndex;
  if (userId !== undefined) out.userId = userId;
  return out;
}

export function parseVerifyRequest(body: unknown): VerifyRequest {
  const fields = object(body);
  const out: VerifyRequest = {
    message: requiredHex(fields, 'message'),
    signature: requiredHex(fields, 'signature'),
  };
  const publicKey = hexField(fields, 'publicKey');
  if (publicKey !== undefined) out.publicKey = publicKey;
  const userId = userIdField(fields);
  if (userId !== undefined) out.userId = userId;
  return out;
}
