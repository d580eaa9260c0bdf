import { availableParallelism } from 'node:os';
import { createSecurityConfig, type SecurityConfig } from '../config';
import { createSigner, type SignerOptions, type Signer } from '../signer';
import { ApiError } from './errors';

/** One key the service signs with; `keyIndex` is null for the software backend's single key. */
export interface ServedKey {
  readonly keyIndex: number | null;
  readonly signer: Signer;
}

/**
 * The signers the service holds: the configured key, or with an allowlist one signer per allowed
 * card key index (each with its own session pool). Requests naming another index get 403.
 */
export class KeyRing {
  private constructor(
    private readonly keys: readonly ServedKey[],
    private readonly defaultKey: ServedKey,
  ) {}

  static async open(
    config: SecurityConfig,
    allow: readonly number[] | undefined,
    opts: SignerOptions,
  ): Promise<KeyRing> {
    if (config.remoteSigner !== undefined) {
      throw new RangeError(
        'the config sets remote_signer_url: the service must sign with a card or a key file, not forward to another service',
      );
    }
    if (!config.enableHsm) {
      if (allow !== undefined)
        throw new RangeError('--allow-key-index needs the HSM backend (enable_hsm or kms_type=HSM)');
      const threads = opts.threads ?? Math.max(1, availableParallelism() - 1);
      const key = { keyIndex: null, signer: await createSigner(config, { ...opts, threads }) };
      return new KeyRing([key], key);
    }
    const indices = allow ?? [config.keyIndex as number];
    const keys: ServedKey[] = [];
    try {
      for (const keyIndex of indices) {
        const one = createSecurityConfig({ ...config, password: config.password, keyIndex, encKeyIndex: keyIndex });
        keys.push({ keyIndex, signer: await createSigner(one, opts) });
      }
    } catch (error) {
      await Promise.allSettled(keys.map((key) => key.signer.close()));
      throw error;
    }
    // The default key (the config's key_index) is listed first: clients that name no index take it.
    const defaultKey = keys.find((key) => key.keyIndex === config.keyIndex) ?? (keys[0] as ServedKey);
    return new KeyRing([defaultKey, ...keys.filter((key) => key !== defaultKey)], defaultKey);
  }

  list(): readonly ServedKey[] {
    return this.keys;
  }

  /** The key a request asks for (the default key when it names none). */
  select(keyIndex: number | undefined): ServedKey {
    if (keyIndex === undefined) return this.defaultKey;
    const key = this.keys.find((candidate) => candidate.keyIndex === keyIndex);
    if (key === undefined) throw new ApiError(403, 'KEY_NOT_ALLOWED', `key index ${keyIndex} is not served here`);
    return key;
  }

  /** Device sessions open across the signers (HsmSigner exposes its pool size). */
  sessions(): number {
    return this.total('sessions');
  }

  /**
   * Signatures worth computing at once: one per device session, or eight per signing thread of the
   * software backend: enough waiting in each thread that it never idles while the event loop,
   * sharing the cores with it, gets round to posting the next.
   */
  parallelism(): number {
    return Math.max(1, this.sessions() + 8 * this.total('threads'));
  }

  /** The sum of a count that only some backends have (HsmSigner.sessions, SoftwareSigner.threads). */
  private total(count: 'sessions' | 'threads'): number {
    return this.keys.reduce((sum, key) => sum + ((key.signer as { [k in typeof count]?: number })[count] ?? 0), 0);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.keys.map((key) => key.signer.close()));
  }
}
