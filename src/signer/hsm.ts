import { ConfigError, type SecurityConfig } from '../config';
import { SdfDevice, SdfError, type SdfFunctionName, type SdfSession } from '../sdf';
import { sm2Digest } from '../sm2';
import { SignerClosedError } from './errors';
import { PublicKeyHolder, requireDigest, requireMessage } from './key-material';
import { ResourcePool } from './resource-pool';
import type { SignOptions, Sm2Signer, SignerOptions } from './types';

const SIGNING_FUNCTIONS: readonly SdfFunctionName[] = [
  'SDF_GetPrivateKeyAccessRight',
  'SDF_ExportSignPublicKey_ECC',
  'SDF_InternalSign_ECC',
];

/** Adds what the device cannot know (key index, likely cause) to an SDF error; never the password. */
function explain(error: unknown, keyIndex: number): unknown {
  if (!(error instanceof SdfError)) return error;
  const hints: Record<string, string> = {
    SDR_PARDENY: 'wrong password, or no access right granted',
    SDR_KEYNOTEXIST: 'no key at this index in the device',
  };
  const hint = hints[error.codeName];
  return new SdfError(error.fn, error.code, `key index ${keyIndex}${hint ? ` (${hint})` : ''}`);
}

/**
 * SM2 with the private key inside a cipher card. The digest SM3(Z||M) is computed on the host
 * (the message is not secret); only the 32-byte digest crosses into the device.
 */
export class HsmSigner extends PublicKeyHolder implements Sm2Signer {
  readonly backend = 'hsm' as const;

  private constructor(
    private readonly device: SdfDevice,
    private readonly pool: ResourcePool<SdfSession>,
    readonly keyIndex: number,
    publicKey: Uint8Array,
  ) {
    super(publicKey);
  }

  static async open(config: SecurityConfig, opts: SignerOptions = {}): Promise<HsmSigner> {
    const keyIndex = config.keyIndex;
    if (keyIndex === undefined) {
      throw new ConfigError('CONFIG_MISSING_KEY', '[security] key_index is required when the HSM is enabled', {
        file: config.configPath,
        key: 'key_index',
      });
    }
    const sessionCount = opts.sessions ?? 1;
    if (!Number.isInteger(sessionCount) || sessionCount < 1) {
      throw new RangeError(`sessions must be a positive integer, got ${sessionCount}`);
    }
    const device = await SdfDevice.open(config.hsmLibPath, opts.library);
    try {
      device.library.require(SIGNING_FUNCTIONS, `signing with key index ${keyIndex}`);
      const sessions: SdfSession[] = [];
      for (let i = 0; i < sessionCount; i++) {
        const session = await device.openSession();
        sessions.push(session);
        // As FISCO does: an empty password means the key needs no access-right call.
        if (config.password !== '') await session.getPrivateKeyAccessRight(keyIndex, config.password);
      }
      const publicKey = await sessions[0].exportSignPublicKey(keyIndex);
      const pool = new ResourcePool(
        sessions,
        (session) => session.close(),
        () => new SignerClosedError('hsm'),
      );
      return new HsmSigner(device, pool, keyIndex, publicKey);
    } catch (error) {
      await device.close().catch(() => undefined);
      throw explain(error, keyIndex);
    }
  }

  get sessions(): number {
    return this.pool.size;
  }

  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    requireMessage(message);
    return this.signDigest(sm2Digest(this.publicKey, message, opts.userId));
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    requireDigest(digest);
    try {
      return await this.pool.use((session) => session.internalSign(this.keyIndex, digest));
    } catch (error) {
      throw explain(error, this.keyIndex);
    }
  }

  /** Waits for signatures in flight, then closes every session and the device. */
  async close(): Promise<void> {
    try {
      await this.pool.close();
    } finally {
      await this.device.close();
    }
  }
}
