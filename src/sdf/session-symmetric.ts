/**
 * Session keys and SM4 on an SdfSession: keys made or imported under a KEK or an SM2 key, SM4
 * ECB/CBC encryption without padding, and the GM/T 0018 MAC (CBC-MAC: the last block of SM4-CBC,
 * zero IV unless one is given). SdfSession's methods call these.
 */
import { capacityOf } from '../native/guard-bytes';
import { requireBytes, requireIndex } from './arguments';
import { SGD } from './codes';
import { SdfBindingError } from './errors';
import { cipherStructSize, decodeCipher, encodeCipher, type Sm2Ciphertext } from './ecc-structs';
import type { SdfFunctionName } from './library';
import type { SdfSession } from './session';
import { SM2_VALUE_BYTES, checkOutput, encodePublicKey, structBuffer } from './structs';

const BLOCK = 16;
/** The only session key size SM4 has. */
const SM4_KEY_BITS = 128;

/** A key held by the device for one session; its bytes never leave the device unwrapped. */
export class SdfSessionKey {
  private handle: unknown;

  /** @internal */
  constructor(
    readonly session: SdfSession,
    handle: unknown,
  ) {
    this.handle = handle;
  }

  get destroyed(): boolean {
    return this.handle === null;
  }

  /** @internal the device handle, or an error naming `fn` when the key was destroyed */
  live(fn: string): unknown {
    if (this.handle === null)
      throw new SdfBindingError('SDF_HANDLE_CLOSED', `${fn} called with a destroyed key`, { fn });
    return this.handle;
  }

  /** @internal */
  forget(): unknown {
    const handle = this.handle;
    this.handle = null;
    return handle;
  }

  toJSON(): string {
    return '[SdfSessionKey]';
  }
}

export interface Sm4Options {
  /** Default 'ecb'. */
  mode?: 'ecb' | 'cbc';
  /** 16 bytes; required for CBC. */
  iv?: Uint8Array;
}

/** Key wrapping under a KEK; the default is the library's `kekAlgorithm`. */
export interface KekOptions {
  algorithm?: 'SGD_SM4_ECB' | 'SGD_SM4_CBC';
}

function requireBlocks(data: Uint8Array): void {
  requireBytes(data, 'data');
  if (data.length === 0 || data.length % BLOCK !== 0) {
    throw new RangeError(`SM4 data must be a non-empty multiple of 16 bytes (no padding), got ${data.length}`);
  }
}

/** A copy of the IV: the device overwrites the one it gets (CBC chaining). */
function ivCopy(iv: Uint8Array | undefined, required: boolean): Buffer | null {
  if (iv === undefined) {
    if (required) throw new TypeError('SM4-CBC needs a 16-byte iv');
    return null;
  }
  if (!(iv instanceof Uint8Array) || iv.length !== BLOCK) throw new RangeError('iv must be 16 bytes');
  return Buffer.from(iv);
}

function ownKey(session: SdfSession, key: SdfSessionKey, fn: string): unknown {
  if (!(key instanceof SdfSessionKey) || key.session !== session) {
    throw new TypeError(`${fn}: the key belongs to another session (keys live in the session that made them)`);
  }
  return key.live(fn);
}

async function newKey(session: SdfSession, fn: SdfFunctionName, args: unknown[]) {
  const out: unknown[] = [null];
  await session.call(fn, [...args, out]);
  return new SdfSessionKey(session, out[0]);
}

async function blockCall(
  session: SdfSession,
  fn: 'SDF_Encrypt' | 'SDF_Decrypt' | 'SDF_CalculateMAC',
  key: SdfSessionKey,
  algId: number,
  iv: Buffer | null,
  data: Uint8Array,
  outSize: number,
): Promise<Uint8Array> {
  const out = structBuffer(outSize);
  const length = [outSize];
  await session.call(fn, [ownKey(session, key, fn), algId, iv, data, data.length, out, length]);
  checkOutput(out, outSize, fn);
  if (length[0] !== outSize) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned ${length[0]} bytes where ${outSize} were expected`, {
      fn,
    });
  }
  return new Uint8Array(out.subarray(0, outSize));
}

function sm4Mode(opts: Sm4Options): { algId: number; cbc: boolean } {
  if (opts.mode !== undefined && opts.mode !== 'ecb' && opts.mode !== 'cbc') {
    throw new RangeError(`mode must be 'ecb' or 'cbc', got ${String(opts.mode)}`);
  }
  const cbc = opts.mode === 'cbc';
  return { algId: cbc ? SGD.SGD_SM4_CBC : SGD.SGD_SM4_ECB, cbc };
}

function kekAlgorithm(session: SdfSession, opts: KekOptions): number {
  const name = opts.algorithm ?? session.library.options.kekAlgorithm;
  if (name !== 'SGD_SM4_ECB' && name !== 'SGD_SM4_CBC') {
    throw new RangeError(`KEK algorithm must be 'SGD_SM4_ECB' or 'SGD_SM4_CBC', got ${String(name)}`);
  }
  return SGD[name];
}

/** Room for a wrapped SM4 key: IV and ciphertext, padding or a MAC some vendors add. */
const WRAPPED_KEY_CAPACITY = 64;

export async function generateKeyWithIpk(session: SdfSession, keyIndex: number) {
  const fn = 'SDF_GenerateKeyWithIPK_ECC';
  requireIndex(keyIndex, 'key index');
  const field = session.library.options.eccFieldBytes;
  const struct = structBuffer(cipherStructSize(field, BLOCK));
  const key = await newKey(session, fn, [keyIndex, SM4_KEY_BITS, struct]);
  return { key, cipher: decodeCipher(struct, field, fn) };
}

export async function generateKeyWithEpk(session: SdfSession, publicKey: Uint8Array) {
  const fn = 'SDF_GenerateKeyWithEPK_ECC';
  requireBytes(publicKey, 'public key', 2 * SM2_VALUE_BYTES);
  const field = session.library.options.eccFieldBytes;
  const struct = structBuffer(cipherStructSize(field, BLOCK));
  const key = await newKey(session, fn, [SM4_KEY_BITS, SGD.SGD_SM2_3, encodePublicKey(publicKey, field), struct]);
  return { key, cipher: decodeCipher(struct, field, fn) };
}

export async function importKeyWithIsk(session: SdfSession, keyIndex: number, cipher: Sm2Ciphertext) {
  requireIndex(keyIndex, 'key index');
  const struct = encodeCipher(cipher, session.library.options.eccFieldBytes);
  return newKey(session, 'SDF_ImportKeyWithISK_ECC', [keyIndex, struct]);
}

export async function generateKeyWithKek(session: SdfSession, kekIndex: number, opts: KekOptions) {
  const fn = 'SDF_GenerateKeyWithKEK';
  requireIndex(kekIndex, 'KEK index');
  const algorithm = kekAlgorithm(session, opts);
  const wrapped = structBuffer(WRAPPED_KEY_CAPACITY);
  const length = [capacityOf(wrapped)];
  const key = await newKey(session, fn, [SM4_KEY_BITS, algorithm, kekIndex, wrapped, length]);
  checkOutput(wrapped, capacityOf(wrapped), fn);
  if (length[0] < BLOCK || length[0] > capacityOf(wrapped)) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned a ${length[0]}-byte wrapped key`, { fn });
  }
  return { key, wrapped: new Uint8Array(wrapped.subarray(0, length[0])) };
}

export async function importKeyWithKek(session: SdfSession, kekIndex: number, wrapped: Uint8Array, opts: KekOptions) {
  requireIndex(kekIndex, 'KEK index');
  if (!(wrapped instanceof Uint8Array) || wrapped.length === 0) throw new TypeError('wrapped key must be bytes');
  return newKey(session, 'SDF_ImportKeyWithKEK', [kekAlgorithm(session, opts), kekIndex, wrapped, wrapped.length]);
}

export async function destroyKey(session: SdfSession, key: SdfSessionKey) {
  const fn = 'SDF_DestroyKey';
  if (key.destroyed) return;
  ownKey(session, key, fn);
  await session.call(fn, [key.forget()]);
}

export async function encrypt(session: SdfSession, key: SdfSessionKey, data: Uint8Array, opts: Sm4Options) {
  requireBlocks(data);
  const { algId, cbc } = sm4Mode(opts);
  return blockCall(session, 'SDF_Encrypt', key, algId, ivCopy(opts.iv, cbc), data, data.length);
}

export async function decrypt(session: SdfSession, key: SdfSessionKey, data: Uint8Array, opts: Sm4Options) {
  requireBlocks(data);
  const { algId, cbc } = sm4Mode(opts);
  return blockCall(session, 'SDF_Decrypt', key, algId, ivCopy(opts.iv, cbc), data, data.length);
}

export async function calculateMac(
  session: SdfSession,
  key: SdfSessionKey,
  data: Uint8Array,
  opts: { iv?: Uint8Array },
) {
  requireBlocks(data);
  const iv = ivCopy(opts.iv, false) ?? Buffer.alloc(BLOCK);
  return blockCall(session, 'SDF_CalculateMAC', key, SGD.SGD_SM4_MAC, iv, data, BLOCK);
}
