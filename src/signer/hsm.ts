import { ConfigError, type SecurityConfig } from '../config';
import { MOCK_KEYSTORE_VARIABLE, mockCardWithoutKeystore } from '../mock/card';
import {
  resolveSdfLibraryOptions,
  SdfBindingError,
  SdfError,
  type SdfFunctionName,
  type SdfLibrary,
  type SdfSession,
} from '../sdf';
import { sm2VerifyDigest } from '../sm2';
import { SignerClosedError } from './errors';
import { PublicKeyHolder, requireDigest, requireMessage } from './key-material';
import { isBrokenSession, isSessionFailure, resolveRetryPolicy, withRetries, type RetryPolicy } from './recovery';
import { ResourcePool } from './resource-pool';
import { checkSignThreads, SignLanes } from './sign-lanes';
import { SigningSessions } from './signing-sessions';
import type { SignOptions, Sm2Signer, SignerOptions } from './types';

const SIGNING_FUNCTIONS: readonly SdfFunctionName[] = [
  'SDF_GetPrivateKeyAccessRight',
  'SDF_ExportSignPublicKey_ECC',
  'SDF_InternalSign_ECC',
];
const HASH_FUNCTIONS: readonly SdfFunctionName[] = ['SDF_HashInit', 'SDF_HashUpdate', 'SDF_HashFinal'];

// koffi runs asynchronous calls as N-API async work, i.e. on the libuv thread pool that also
// serves fs, dns.lookup, zlib and async crypto. Its size is fixed when the pool first starts:
// UV_THREADPOOL_SIZE from the environment (default 4, at most 1024).
const LIBUV_DEFAULT_THREADS = 4;
const LIBUV_MAX_THREADS = 1024;
/** Most sessions a default pool opens; vendor cards often cap sessions per process near this. */
const DEFAULT_SESSION_CAP = 64;
/** koffi refuses more than max_async_calls (256 by default) queued calls. */
const MAX_SESSIONS = 256;
const DEFAULT_HEALTH_CHECK_IDLE_MS = 30_000;

export function libuvThreadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  if (!Number.isInteger(value) || value < 1) return LIBUV_DEFAULT_THREADS;
  return Math.min(value, LIBUV_MAX_THREADS);
}

/**
 * One session per pool thread, less one left for fs and dns so that a slow or hung device never
 * holds every thread. More sessions than threads would only queue inside libuv.
 */
export function defaultSessionCount(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, Math.min(libuvThreadPoolSize(env) - 1, DEFAULT_SESSION_CAP));
}

/** Adds what the device cannot know (key index, likely cause) to an SDF error; never the password. */
function explain(error: unknown, keyIndex: number, library: SdfLibrary): unknown {
  if (!(error instanceof SdfError)) return error;
  const hints: Record<string, string> = {
    SDR_PARDENY: 'wrong password, or no access right granted',
    SDR_KEYNOTEXIST: mockCardWithoutKeystore(library)
      ? `no key at this index: ${library.path} is the mock card, and ${MOCK_KEYSTORE_VARIABLE} (the folder ` +
        'that gmt0018 mock-import writes its keys to) is not set'
      : 'no key at this index in the device',
  };
  const hint = hints[error.codeName];
  return new SdfError(error.fn, error.code, `key index ${keyIndex}${hint ? ` (${hint})` : ''}`);
}

/**
 * SM2 with the private key inside a cipher card, through a pool of sessions that each hold the
 * key's access right. The digest SM3(Z||M) is computed on the host by default (the message is not
 * secret, and it saves three device calls); only the 32-byte digest crosses into the device.
 */
export class HsmSigner extends PublicKeyHolder implements Sm2Signer {
  readonly backend = 'hsm' as const;
  /** When each session last answered, for the health check of idle sessions. */
  private readonly lastUsed = new WeakMap<SdfSession, number>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly source: SigningSessions,
    /** The sessions calls are made on: pooled on the libuv threads, or owned by signing threads. */
    private readonly pool: ResourcePool<SdfSession> | SignLanes<SdfSession>,
    readonly keyIndex: number,
    publicKey: Uint8Array,
    readonly digestOn: 'host' | 'device',
    private readonly retry: RetryPolicy,
    private readonly healthCheckIdleMs: number,
    /** Every device signature is verified on the host before it is returned. */
    readonly verifySignatures: boolean,
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
    const signThreads = opts.signThreads ?? config.hsmSignThreads ?? 0;
    checkSignThreads(signThreads, opts.sessions !== undefined);
    const sessionCount = opts.sessions ?? defaultSessionCount();
    if (!Number.isInteger(sessionCount) || sessionCount < 1 || sessionCount > MAX_SESSIONS) {
      throw new RangeError(`sessions must be an integer from 1 to ${MAX_SESSIONS}, got ${sessionCount}`);
    }
    const digestOn = opts.digestOn ?? 'host';
    if (digestOn !== 'host' && digestOn !== 'device') {
      throw new RangeError(`digestOn must be 'host' or 'device', got ${String(digestOn)}`);
    }
    if (signThreads > 0 && digestOn === 'device') {
      throw new RangeError("signThreads needs digestOn 'host': a device hash takes several calls on one session");
    }
    const retry = resolveRetryPolicy(opts.retry);
    const healthCheckIdleMs = opts.healthCheckIdleMs ?? DEFAULT_HEALTH_CHECK_IDLE_MS;
    if (!(healthCheckIdleMs >= 0)) throw new RangeError(`healthCheckIdleMs must be >= 0, got ${healthCheckIdleMs}`);
    const verifySignatures = opts.verifySignatures ?? config.hsmVerifySignatures ?? false;
    if (typeof verifySignatures !== 'boolean') throw new TypeError('verifySignatures must be a boolean');

    const libraryOptions = resolveSdfLibraryOptions(config.hsmLibrary, opts.library);
    const source = await SigningSessions.open(config.hsmLibPath, libraryOptions, keyIndex, config.password);
    const sessions: SdfSession[] = [];
    try {
      source.device.library.require(
        digestOn === 'device' ? [...SIGNING_FUNCTIONS, ...HASH_FUNCTIONS] : SIGNING_FUNCTIONS,
        `signing with key index ${keyIndex}`,
      );
      const closedError = () => new SignerClosedError('hsm');
      let pool: ResourcePool<SdfSession> | SignLanes<SdfSession>;
      if (signThreads > 0) {
        pool = await SignLanes.open(source, signThreads, healthCheckIdleMs, closedError);
      } else {
        for (let i = 0; i < sessionCount; i++) sessions.push(await source.create());
        pool = new ResourcePool(sessions, {
          create: () => source.create(),
          dispose: (session) => source.dispose(session),
          closedError,
        });
      }
      const publicKey = source.publicKey as Uint8Array;
      return new HsmSigner(source, pool, keyIndex, publicKey, digestOn, retry, healthCheckIdleMs, verifySignatures);
    } catch (error) {
      await source.close().catch(() => undefined);
      throw explain(error, keyIndex, source.device.library);
    }
  }

  get sessions(): number {
    return this.pool.size;
  }

  /** Sessions lent to an operation right now. */
  get sessionsInUse(): number {
    return this.pool.inUse;
  }

  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    if (this.digestOn === 'host') return this.signDigest(this.digestOf(message, opts.userId));
    requireMessage(message);
    const hashOpts = { publicKey: this.publicKey, userId: opts.userId };
    // Hash and signature on one session: a device hash lives in the session that started it.
    return this.withSession(async (session) => {
      const digest = await session.hash(message, hashOpts);
      return this.checked(digest, await session.internalSign(this.keyIndex, digest), () =>
        session.exportSignPublicKey(this.keyIndex),
      );
    });
  }

  signDigest(digest: Uint8Array): Promise<Uint8Array> {
    try {
      requireDigest(digest);
    } catch (error) {
      return Promise.reject(error);
    }
    const pool = this.pool;
    if (pool instanceof SignLanes) {
      if (!this.verifySignatures) return this.recovering(() => pool.sign(digest));
      return this.recovering(async () => this.checked(digest, await pool.sign(digest), () => this.source.readKey()));
    }
    return this.withSession(async (session) =>
      this.checked(digest, await session.internalSign(this.keyIndex, digest), () =>
        session.exportSignPublicKey(this.keyIndex),
      ),
    );
  }

  /**
   * The device's signature, verified on the host first when `verifySignatures` is on. One that
   * does not verify sends the signer to read the key again: a different key is SDF_KEY_CHANGED,
   * the same one SDF_BAD_SIGNATURE.
   */
  private async checked(
    digest: Uint8Array,
    signature: Uint8Array,
    readKey: () => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    if (!this.verifySignatures || sm2VerifyDigest(this.publicKey, digest, signature)) return signature;
    this.source.checkKey(await readKey());
    throw new SdfBindingError(
      'SDF_BAD_SIGNATURE',
      `SDF_InternalSign_ECC returned a signature that does not verify under the public key of index ${this.keyIndex}`,
      { fn: 'SDF_InternalSign_ECC', libPath: this.source.device.libPath },
    );
  }

  /**
   * Runs `task` on a pooled session. A session that fails with a link or session code is replaced
   * (the device reopened if need be) and the task tried again within the retry policy; any other
   * error, or the last one, reaches the caller with the key index added.
   */
  private withSession<R>(task: (session: SdfSession) => Promise<R>): Promise<R> {
    const pool = this.pool as ResourcePool<SdfSession>;
    return this.recovering(() =>
      pool.use(async (session) => {
        await this.checkIfIdle(session);
        const result = await task(session);
        this.lastUsed.set(session, Date.now());
        return result;
      }, isBrokenSession),
    );
  }

  /**
   * Tries `operation` again within the retry policy while it fails with a link or session code.
   * The first try runs outside the retry loop: it is the one nearly every signature takes.
   */
  private recovering<R>(operation: () => Promise<R>): Promise<R> {
    if (this.source.keyChanged) return Promise.reject(this.source.keyChanged);
    return operation().catch(async (error: unknown) => {
      try {
        if (!isSessionFailure(error) || this.retry.attempts === 1) throw error;
        return await withRetries(operation, this.retry, isSessionFailure, undefined, 2);
      } catch (last) {
        throw explain(last, this.keyIndex, this.source.device.library);
      }
    });
  }

  /** A session idle for long may have been dropped by the device: ask it something cheap first. */
  private async checkIfIdle(session: SdfSession): Promise<void> {
    const last = this.lastUsed.get(session);
    if (last === undefined) {
      this.lastUsed.set(session, Date.now());
      return;
    }
    if (Date.now() - last < this.healthCheckIdleMs) return;
    this.source.checkKey(await session.exportSignPublicKey(this.keyIndex));
  }

  /** The number of sessions of this library left behind in the process (stuck in calls, failing to close). */
  get sessionsLeftBehind(): number {
    return this.source.device.sessionsLeftBehind;
  }

  /** Waits for signatures in flight, then closes every session and the device; every caller waits for the same close. */
  close(): Promise<void> {
    this.closing ??= this.pool.close().finally(() => this.source.close());
    return this.closing;
  }
}
