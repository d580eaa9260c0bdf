import { SDR, SdfBindingError, SdfError } from '../sdf';

/**
 * Codes that say the session or the link to the device broke, not that the request was wrong:
 * the session is replaced (the device reopened if need be) and the operation tried again.
 * SDR_PARDENY, SDR_KEYNOTEXIST and argument errors are the caller's to fix and are never retried.
 */
const SESSION_FAILURES: ReadonlySet<number> = new Set([
  SDR.SDR_COMMFAIL,
  SDR.SDR_HARDFAIL,
  SDR.SDR_OPENDEVICE,
  SDR.SDR_OPENSESSION,
  SDR.SDR_UNKNOWERR,
]);

/** True when the session that produced `error` must be thrown away and the call may be repeated. */
export function isSessionFailure(error: unknown): boolean {
  if (error instanceof SdfError) return SESSION_FAILURES.has(error.code);
  // A handle the binding already knows to be closed: the session is gone, a new one will do.
  return error instanceof SdfBindingError && error.code === 'SDF_HANDLE_CLOSED';
}

/**
 * The session may not be used again: it failed, or it is retired (a call past its deadline, which
 * is not repeated: the caller's time is up).
 */
export function isBrokenSession(error: unknown, session: { readonly closed: boolean }): boolean {
  return isSessionFailure(error) || session.closed;
}

export interface RetryPolicy {
  /** Tries in all, the first included. Default 3. */
  attempts: number;
  /** Wait before the second try; doubled for each further try, up to `maxDelayMs`. Default 50. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ attempts: 3, baseDelayMs: 50, maxDelayMs: 1000 });

export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...partial };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new RangeError(`retry attempts must be a positive integer, got ${policy.attempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) {
    throw new RangeError('retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs');
  }
  return policy;
}

/** Delay before try number `attempt` (1-based; the first try has none), ±20 % jitter, capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  const nominal = policy.baseDelayMs * 2 ** (attempt - 2);
  return Math.round(Math.min(policy.maxDelayMs, nominal * (0.8 + 0.4 * random())));
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or runs out of
 * tries; then the last error is thrown as it was. `operation` learns which try it is. From
 * `firstAttempt` > 1 (an earlier try failed elsewhere), the backoff of that try comes first.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  retryable: (error: unknown) => boolean,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  firstAttempt = 1,
): Promise<T> {
  if (firstAttempt > 1) await sleep(backoffDelay(firstAttempt, policy));
  for (let attempt = firstAttempt; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !retryable(error)) throw error;
      await sleep(backoffDelay(attempt + 1, policy));
    }
  }
}
