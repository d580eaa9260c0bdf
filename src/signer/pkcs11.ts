import { readSecretFile } from '../config/secret-file';
import { CKM_ECDSA, CKM_EDDSA, Pkcs11BindingError, Pkcs11Module } from '../pkcs11';
import { loadPkcs11File } from '../pkcs11/functions';
import { PKCS11_SM2_PROFILES, isPkcs11Sm2ProfileName, type Sm2Profile } from '../pkcs11/profiles';
import type { Pkcs11Settings } from '../config/types';
import { signatureFromDer } from '../sm2';
import { digestFor, normalizeSignature, signsDigest, type SignerAlgorithm } from './algorithms';
import { SignerClosedError } from './errors';
import { defaultSessionCount } from './hsm';
import { PublicKeyHolder, requireDigest, requireMessage } from './key-material';
import {
  isBrokenPkcs11Session,
  isPkcs11SessionFailure,
  Pkcs11LaneSource,
  Pkcs11Sessions,
  type KeySession,
} from './pkcs11-sessions';
import { resolveRetryPolicy, withRetries, type RetryPolicy } from './recovery';
import { ResourcePool } from './resource-pool';
import { checkSignThreads, SignLanes } from './sign-lanes';
import type { SignOptions, Signer, SignerOptions } from './types';

/** Settings of a PKCS#11 signer: the config's pkcs11_* keys, and the PIN (never shown). */
export type Pkcs11SignerSettings = Pkcs11Settings & { pin?: string };

/** Reads the PIN: given, or from pkcs11_pin_file (trimmed), or none (no login). */
function pinOf(settings: Pkcs11SignerSettings): string {
  if (settings.pin !== undefined) return settings.pin;
  if (settings.pinFile === undefined) return '';
  return readSecretFile(settings.pinFile, 'pkcs11_pin_file');
}

/** The SM2 profile with its overrides, or undefined when none is configured. */
function sm2ProfileOf(settings: Pkcs11Settings): Sm2Profile | undefined {
  if (settings.profile === undefined) {
    if (settings.sm2Mechanism === undefined) return undefined;
    throw new RangeError('pkcs11_sm2_mechanism needs pkcs11_profile (which names the SM2 key type)');
  }
  if (!isPkcs11Sm2ProfileName(settings.profile)) throw new RangeError(`unknown PKCS#11 profile "${settings.profile}"`);
  const profile: Sm2Profile = { ...PKCS11_SM2_PROFILES[settings.profile] };
  if (settings.sm2Mechanism !== undefined) profile.mechanism = settings.sm2Mechanism;
  if (settings.signatureFormat !== undefined) profile.signatureFormat = settings.signatureFormat;
  return profile;
}

/**
 * A key in a PKCS#11 token (SoftHSM, Thales Luna, AWS CloudHSM, nShield, or an SM2 module under a
 * vendor profile), through a pool of logged-in sessions or signing threads (signThreads), with
 * recovery: a broken session is replaced (login and key lookup again), and when no session can
 * be opened the module is initialised again.
 */
export class Pkcs11Signer extends PublicKeyHolder<SignerAlgorithm> implements Signer {
  readonly backend = 'pkcs11' as const;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly source: Pkcs11Sessions,
    /** The sessions calls are made on: pooled on the libuv threads, or owned by signing threads. */
    private readonly pool: ResourcePool<KeySession> | SignLanes<KeySession>,
    publicKey: Uint8Array,
    algorithm: SignerAlgorithm,
    private readonly mechanism: number,
    private readonly signatureFormat: 'raw' | 'der',
    private readonly lowS: boolean,
    private readonly retry: RetryPolicy,
  ) {
    super(publicKey, algorithm);
  }

  static async open(settings: Pkcs11SignerSettings, opts: SignerOptions = {}): Promise<Pkcs11Signer> {
    if (settings.tokenLabel === undefined && settings.slot === undefined) {
      throw new TypeError('a PKCS#11 token is selected by tokenLabel or slot (pkcs11_token_label / pkcs11_slot)');
    }
    const selector = {
      label: settings.keyLabel,
      id: settings.keyId === undefined ? undefined : Buffer.from(settings.keyId, 'hex'),
    };
    const sm2 = sm2ProfileOf(settings);
    const signThreads = opts.signThreads ?? settings.signThreads ?? 0;
    // A signer option overrides the settings: signThreads there sets aside their pool size.
    const fromSettings = opts.signThreads === undefined ? settings.sessions : undefined;
    checkSignThreads(signThreads, (opts.sessions ?? fromSettings) !== undefined);
    const retry = resolveRetryPolicy(opts.retry);
    const pin = pinOf(settings);
    for (const dependency of settings.preload ?? []) loadPkcs11File(dependency, 'preload');
    const module = await Pkcs11Module.open(settings.library, { callTimeoutMs: settings.callTimeoutMs });
    const token = { tokenLabel: settings.tokenLabel, slot: settings.slot };
    let source: Pkcs11Sessions | undefined;
    try {
      const slot = await module.findSlot(token);
      const { maxRwSessions } = await module.tokenInfo(slot);
      const wanted = signThreads || (opts.sessions ?? settings.sessions ?? defaultSessionCount());
      const sessionCount = Math.max(1, Math.min(wanted, maxRwSessions ?? wanted));
      source = new Pkcs11Sessions(module, token, slot, pin, selector, sm2);
      const sessions: KeySession[] = [await source.create()];
      const key = source.key as NonNullable<Pkcs11Sessions['key']>;
      if (key.algorithm === 'sm2' && sm2 === undefined) {
        throw new Pkcs11BindingError(
          'PKCS11_KEY_UNSUPPORTED',
          'an SM2 key needs pkcs11_profile: SM2 has no standard PKCS#11 mechanism (sansec, tass, luna, ibm-ep11)',
        );
      }
      const viaProfile = key.algorithm === 'sm2' ? sm2 : undefined;
      const mechanism = viaProfile?.mechanism ?? (key.algorithm === 'ed25519' ? CKM_EDDSA : CKM_ECDSA);
      const format = viaProfile?.signatureFormat ?? 'raw';
      const closedError = () => new SignerClosedError('pkcs11');
      let pool: ResourcePool<KeySession> | SignLanes<KeySession>;
      if (signThreads > 0) {
        if (!signsDigest(key.algorithm)) {
          throw new RangeError(
            'signing threads sign digests, and an Ed25519 key signs whole messages: use pkcs11_sessions for it',
          );
        }
        await source.dispose(sessions[0]); // each thread opens its own
        pool = await SignLanes.open(new Pkcs11LaneSource(source, mechanism), sessionCount, Infinity, closedError);
      } else {
        while (sessions.length < sessionCount) sessions.push(await source.create());
        const from = source;
        pool = new ResourcePool(sessions, {
          create: () => from.create(),
          dispose: (resource) => from.dispose(resource),
          closedError,
        });
      }
      return new Pkcs11Signer(source, pool, key.publicKey, key.algorithm, mechanism, format, opts.lowS ?? false, retry);
    } catch (error) {
      await (source ?? module).close().catch(() => undefined);
      throw error;
    }
  }

  get sessions(): number {
    return this.pool.size;
  }

  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    requireMessage(message);
    if (!signsDigest(this.algorithm)) {
      if (opts.userId !== undefined || opts.hash !== undefined) {
        throw new TypeError('Ed25519 signs the message itself: userId and hash do not apply');
      }
      return this.signData(message);
    }
    return this.signData(digestFor(this.algorithm, this.publicKey, message, opts));
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (!signsDigest(this.algorithm)) throw new TypeError('an Ed25519 key signs messages, not digests');
    requireDigest(digest);
    return this.signData(digest);
  }

  private async signData(data: Uint8Array): Promise<Uint8Array> {
    const pool = this.pool;
    const raw = await withRetries(
      pool instanceof SignLanes
        ? () => pool.sign(data)
        : () => pool.use(({ session, key }) => session.sign(this.mechanism, key, data), isBrokenPkcs11Session),
      this.retry,
      isPkcs11SessionFailure,
    );
    return normalizeSignature(this.algorithm, this.decode(raw), this.lowS);
  }

  /**
   * r‖s from what the module returned: 64 bytes, or DER (vendors disagree on some SM2
   * mechanisms, so a `raw` profile takes DER too; `der` takes DER only).
   */
  private decode(raw: Uint8Array): Uint8Array {
    if (this.signatureFormat === 'raw' && raw.length === 64) return raw;
    try {
      return signatureFromDer(raw);
    } catch {
      // reported below
    }
    throw new Pkcs11BindingError(
      'PKCS11_BAD_RESPONSE',
      `C_Sign returned ${raw.length} bytes where a ${this.signatureFormat === 'der' ? 'DER' : '64-byte r‖s'} ${this.algorithm} signature was expected`,
      { fn: 'C_Sign' },
    );
  }

  /** Waits for signatures in flight, then closes every session and the module; every caller waits for the same close. */
  close(): Promise<void> {
    this.closing ??= this.pool.close().finally(() => this.source.close());
    return this.closing;
  }
}
