import { parsePublicKey } from '../sm2';
import { resolveRetryPolicy, type RetryPolicy } from './recovery';
import type { EndpointBackoff } from './remote-endpoints';

export interface RemoteSignerOptions {
  /** Base URL of `gmt0018 serve`, e.g. https://signer:8443. */
  url?: string;
  /** Several instances: requests go round robin, fail over, and skip an instance that fails. */
  urls?: readonly string[];
  /** The service's bearer token. */
  token?: string;
  /** PEM CA to trust for https URLs (default: the system store). */
  ca?: string | Buffer;
  /** Client certificate and key for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * The public key the service must sign with (hex, PEM or bytes): the key listed by the service
   * must be this one, and every signature is verified against it. Default: the key the service
   * lists at connect, trusted from then on.
   */
  publicKey?: string | Uint8Array;
  /**
   * Tries of one request in all, the first included (`attempts`, default 5), on no answer, a
   * 503, a 429 or an answer refused (BAD_RESPONSE, KEY_MISMATCH, BAD_SIGNATURE), each on the next
   * instance; once every instance has failed, a backoff from `baseDelayMs` (50) doubling up to
   * `maxDelayMs` (2000). The same RetryPolicy as the HSM signer's `retry`.
   */
  retry?: Partial<RetryPolicy>;
  /** @deprecated tries after the first; use `retry: { attempts: retries + 1 }`. */
  retries?: number;
  /** @deprecated use `retry: { baseDelayMs }`. */
  retryDelayMs?: number;
  /**
   * How long an instance that failed (no answer in time, a 5xx, an answer refused) is skipped
   * while others answer: `baseDelayMs` (default 1000) after a first failure, doubling for each
   * further failure in a row up to `maxDelayMs` (default 30000). Then one request probes it.
   */
  endpointBackoff?: Partial<EndpointBackoff>;
  /**
   * Verify every signature against the signer's public key before handing it out (default true).
   * It costs about 0.4 ms of CPU per signature on the calling thread (bench/remote/verify-cost.mjs),
   * about twice a software signature. `false` trusts the service's answers (still checked for
   * form and for the key they name): only for a service reached over an authenticated channel,
   * at rates where that CPU matters.
   */
  verifySignatures?: boolean;
  /** Key index to sign with; default the service's first listed key (its configured key_index). */
  keyIndex?: number;
  /** Keep-alive connections per URL. Default 32. */
  connections?: number;
  /** Deadline for one try, from sending the request to the last byte of the answer. Default 30 s. */
  timeoutMs?: number;
}

export const REMOTE_RETRY_DEFAULTS: RetryPolicy = Object.freeze({ attempts: 5, baseDelayMs: 50, maxDelayMs: 2000 });
export const ENDPOINT_BACKOFF_DEFAULTS: EndpointBackoff = Object.freeze({ baseDelayMs: 1000, maxDelayMs: 30_000 });

/** The options of createRemoteSigner other than where and how to connect, checked. */
export interface RemoteSettings {
  verifySignatures: boolean;
  retry: RetryPolicy;
  endpointBackoff: EndpointBackoff;
  timeoutMs: number;
  connections: number;
  keyIndex?: number;
  publicKey?: Uint8Array;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new RangeError(`createRemoteSigner: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value as number;
}

/** `retry`, or the deprecated `retries` / `retryDelayMs` it replaces (not both). */
function remoteRetryPolicy(opts: RemoteSignerOptions): RetryPolicy {
  const legacy = opts.retries !== undefined || opts.retryDelayMs !== undefined;
  if (legacy && opts.retry !== undefined) {
    throw new TypeError('createRemoteSigner: give retry, or the deprecated retries / retryDelayMs, not both');
  }
  const partial: Partial<RetryPolicy> = { ...opts.retry };
  if (opts.retries !== undefined) partial.attempts = opts.retries + 1;
  // As before: the first delay, capped like every other.
  if (opts.retryDelayMs !== undefined) {
    partial.baseDelayMs = Math.min(opts.retryDelayMs, REMOTE_RETRY_DEFAULTS.maxDelayMs);
  }
  return resolveRetryPolicy({ ...REMOTE_RETRY_DEFAULTS, ...partial });
}

function endpointBackoffOf(opts: RemoteSignerOptions): EndpointBackoff {
  const backoff = { ...ENDPOINT_BACKOFF_DEFAULTS, ...opts.endpointBackoff };
  if (!(backoff.baseDelayMs >= 0) || !(backoff.maxDelayMs >= backoff.baseDelayMs)) {
    throw new RangeError('createRemoteSigner: endpointBackoff must satisfy 0 <= baseDelayMs <= maxDelayMs');
  }
  return backoff;
}

export function remoteSettings(opts: RemoteSignerOptions): RemoteSettings {
  if (opts.verifySignatures !== undefined && typeof opts.verifySignatures !== 'boolean') {
    throw new TypeError('createRemoteSigner: verifySignatures must be a boolean');
  }
  const settings: RemoteSettings = {
    verifySignatures: opts.verifySignatures ?? true,
    retry: remoteRetryPolicy(opts),
    endpointBackoff: endpointBackoffOf(opts),
    timeoutMs: positiveInteger('timeoutMs', opts.timeoutMs, 30_000),
    connections: positiveInteger('connections', opts.connections, 32),
  };
  if (opts.keyIndex !== undefined) {
    if (!Number.isSafeInteger(opts.keyIndex) || opts.keyIndex < 0) {
      throw new RangeError(`createRemoteSigner: keyIndex must be a non-negative integer, got ${String(opts.keyIndex)}`);
    }
    settings.keyIndex = opts.keyIndex;
  }
  if (opts.publicKey !== undefined) settings.publicKey = parsePublicKey(opts.publicKey);
  return settings;
}
