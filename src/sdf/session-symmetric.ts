/**
 * Session keys and SM4 on an SdfSession: keys made or imported under a KEK or an SM2 key, SM4
 * ECB/CBC encryption without padding, and the GM/T 0018 MAC (CBC-MAC: the last block of SM4-CBC,
 * zero IV unless one is given). Added to SdfSession's prototype like session-ecc.ts.
 */
import { requireBytes, requireIndex } from './arguments';
import { SGD } from './codes';
import { SdfBindingError } from './errors';
import { cipherStructSize, decodeCipher, encodeCipher, type Sm2Ciphertext } from './ecc-structs';
import { SdfSession } from './session';
import { SM2_VALUE_BYTES, encodePublicKey } from './structs';

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

declare module './session' {
  interface SdfSession {
    /** SDF_GenerateKeyWithIPK_ECC: a new SM4 key, also returned SM2-encrypted to the internal key. */
    generateKeyWithIpk(keyIndex: number): Promise<{ key: SdfSessionKey; cipher: Sm2Ciphertext }>;
    /** SDF_GenerateKeyWithEPK_ECC: a new SM4 key, also returned SM2-encrypted to `publicKey`. */
    generateKeyWithEpk(publicKey: Uint8Array): Promise<{ key: SdfSessionKey; cipher: Sm2Ciphertext }>;
    /** SDF_ImportKeyWithISK_ECC: imports a key SM2-encrypted to the internal key (needs the access right). */
    importKeyWithIsk(keyIndex: number, cipher: Sm2Ciphertext): Promise<SdfSessionKey>;
    /** SDF_GenerateKeyWithKEK: a new SM4 key, also returned wrapped (SM4-ECB) under the KEK. */
    generateKeyWithKek(kekIndex: number): Promise<{ key: SdfSessionKey; wrapped: Uint8Array }>;
    /** SDF_ImportKeyWithKEK: imports a key wrapped (SM4-ECB) under the KEK. */
    importKeyWithKek(kekIndex: number, wrapped: Uint8Array): Promise<SdfSessionKey>;
    /** SDF_DestroyKey; destroying twice is a no-op. */
    destroyKey(key: SdfSessionKey): Promise<void>;
    /** SDF_Encrypt with SM4, no padding: `data` is a non-empty multiple of 16 bytes. */
    encrypt(key: SdfSessionKey, data: Uint8Array, opts?: Sm4Options): Promise<Uint8Array>;
    /** SDF_Decrypt with SM4, no padding. */
    decrypt(key: SdfSessionKey, data: Uint8Array, opts?: Sm4Options): Promise<Uint8Array>;
    /** SDF_CalculateMAC with SGD_SM4_MAC: 16 bytes. */
    calculateMac(key: SdfSessionKey, data: Uint8Array, opts?: { iv?: Uint8Array }): Promise<Uint8Array>;
  }
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

async function newKey(session: SdfSession, fn: Parameters<SdfSession['library']['call']>[0], args: unknown[]) {
  const out: unknown[] = [null];
  await session.library.call(fn, session.live(fn), ...args, out);
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
  const out = Buffer.alloc(outSize);
  const length = [out.length];
  await session.library.call(fn, session.live(fn), ownKey(session, key, fn), algId, iv, data, data.length, out, length);
  if (length[0] !== outSize) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned ${length[0]} bytes where ${outSize} were expected`, {
      fn,
    });
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function sm4Mode(opts: Sm4Options): { algId: number; cbc: boolean } {
  if (opts.mode !== undefined && opts.mode !== 'ecb' && opts.mode !== 'cbc') {
    throw new RangeError(`mode must be 'ecb' or 'cbc', got ${String(opts.mode)}`);
  }
  const cbc = opts.mode === 'cbc';
  return { algId: cbc ? SGD.SGD_SM4_CBC : SGD.SGD_SM4_ECB, cbc };
}

type Methods = Pick<
  SdfSession,
  | 'generateKeyWithIpk'
  | 'generateKeyWithEpk'
  | 'importKeyWithIsk'
  | 'generateKeyWithKek'
  | 'importKeyWithKek'
  | 'destroyKey'
  | 'encrypt'
  | 'decrypt'
  | 'calculateMac'
>;

const methods: Methods = {
  async generateKeyWithIpk(this: SdfSession, keyIndex: number) {
    requireIndex(keyIndex, 'key index');
    const field = this.library.options.eccFieldBytes;
    const struct = Buffer.alloc(cipherStructSize(field, BLOCK));
    const key = await newKey(this, 'SDF_GenerateKeyWithIPK_ECC', [keyIndex, SM4_KEY_BITS, struct]);
    return { key, cipher: decodeCipher(struct, field, 'SDF_GenerateKeyWithIPK_ECC') };
  },

  async generateKeyWithEpk(this: SdfSession, publicKey: Uint8Array) {
    requireBytes(publicKey, 'public key', 2 * SM2_VALUE_BYTES);
    const field = this.library.options.eccFieldBytes;
    const struct = Buffer.alloc(cipherStructSize(field, BLOCK));
    const key = await newKey(this, 'SDF_GenerateKeyWithEPK_ECC', [
      SM4_KEY_BITS,
      SGD.SGD_SM2_3,
      encodePublicKey(publicKey, field),
      struct,
    ]);
    return { key, cipher: decodeCipher(struct, field, 'SDF_GenerateKeyWithEPK_ECC') };
  },

  async importKeyWithIsk(this: SdfSession, keyIndex: number, cipher: Sm2Ciphertext) {
    requireIndex(keyIndex, 'key index');
    const struct = encodeCipher(cipher, this.library.options.eccFieldBytes);
    return newKey(this, 'SDF_ImportKeyWithISK_ECC', [keyIndex, struct]);
  },

  async generateKeyWithKek(this: SdfSession, kekIndex: number) {
    requireIndex(kekIndex, 'KEK index');
    const fn = 'SDF_GenerateKeyWithKEK';
    // room for vendors that wrap with padding or a MAC
    const wrapped = Buffer.alloc(64);
    const length = [wrapped.length];
    const key = await newKey(this, fn, [SM4_KEY_BITS, SGD.SGD_SM4_ECB, kekIndex, wrapped, length]);
    return { key, wrapped: new Uint8Array(wrapped.subarray(0, length[0])) };
  },

  async importKeyWithKek(this: SdfSession, kekIndex: number, wrapped: Uint8Array) {
    requireIndex(kekIndex, 'KEK index');
    if (!(wrapped instanceof Uint8Array) || wrapped.length === 0) throw new TypeError('wrapped key must be bytes');
    return newKey(this, 'SDF_ImportKeyWithKEK', [SGD.SGD_SM4_ECB, kekIndex, wrapped, wrapped.length]);
  },

  async destroyKey(this: SdfSession, key: SdfSessionKey) {
    const fn = 'SDF_DestroyKey';
    if (key.destroyed) return;
    ownKey(this, key, fn);
    await this.library.call(fn, this.live(fn), key.forget());
  },

  async encrypt(this: SdfSession, key: SdfSessionKey, data: Uint8Array, opts: Sm4Options = {}) {
    requireBlocks(data);
    const { algId, cbc } = sm4Mode(opts);
    return blockCall(this, 'SDF_Encrypt', key, algId, ivCopy(opts.iv, cbc), data, data.length);
  },

  async decrypt(this: SdfSession, key: SdfSessionKey, data: Uint8Array, opts: Sm4Options = {}) {
    requireBlocks(data);
    const { algId, cbc } = sm4Mode(opts);
    return blockCall(this, 'SDF_Decrypt', key, algId, ivCopy(opts.iv, cbc), data, data.length);
  },

  async calculateMac(this: SdfSession, key: SdfSessionKey, data: Uint8Array, opts: { iv?: Uint8Array } = {}) {
    requireBlocks(data);
    const iv = ivCopy(opts.iv, false) ?? Buffer.alloc(BLOCK);
    return blockCall(this, 'SDF_CalculateMAC', key, SGD.SGD_SM4_MAC, iv, data, BLOCK);
  },
};

Object.assign(SdfSession.prototype, methods);
