import { backoffDelay, type RetryPolicy } from './recovery';

/** How long an instance that failed is skipped: doubling from `baseDelayMs` per failure in a row, capped. */
export interface EndpointBackoff {
  baseDelayMs: number;
  maxDelayMs: number;
}

interface Health {
  /** Failures in a row; 0 for an instance in good standing. */
  failures: number;
  /** Until when (clock time) a failing instance is skipped. */
  until: number;
  /** A request is probing the failing instance: the others keep skipping it until it returns. */
  probing: boolean;
}

/**
 * Which instance the next request goes to: round robin over those in good standing. One that
 * failed (no answer in time, a 5xx, an answer refused) is skipped for a backoff period, then
 * probed by one request: an answer puts it back in the rotation, another failure skips it for
 * twice as long (up to `maxDelayMs`). When every instance is being skipped, the one whose period
 * ends first is tried anyway: a request is never refused for want of an instance.
 */
export class EndpointRotation {
  readonly #health: Health[];
  readonly #backoff: RetryPolicy;
  readonly #now: () => number;
  readonly #random: () => number;
  #next = 0;

  constructor(count: number, backoff: EndpointBackoff, clock: { now?: () => number; random?: () => number } = {}) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError('EndpointRotation: at least one endpoint');
    this.#health = Array.from({ length: count }, () => ({ failures: 0, until: 0, probing: false }));
    // backoffDelay's schedule: the first failure skips the instance for baseDelayMs.
    this.#backoff = { attempts: Number.POSITIVE_INFINITY, ...backoff };
    this.#now = clock.now ?? (() => performance.now());
    this.#random = clock.random ?? Math.random;
  }

  /** The index of the instance the next request goes to. */
  pick(): number {
    const count = this.#health.length;
    const now = this.#now();
    for (let k = 0; k < count; k++) {
      const index = (this.#next + k) % count;
      const health = this.#health[index] as Health;
      if (health.failures === 0 || (!health.probing && now >= health.until)) {
        if (health.failures > 0) health.probing = true;
        this.#next = (index + 1) % count;
        return index;
      }
    }
    let soonest = 0;
    this.#health.forEach((health, index) => {
      if (health.until < (this.#health[soonest] as Health).until) soonest = index;
    });
    this.#next = (soonest + 1) % count;
    return soonest;
  }

  /** The instance answered as it should (or said no to the request itself: a 4xx). */
  succeeded(index: number): void {
    const health = this.#health[index] as Health;
    health.failures = 0;
    health.probing = false;
  }

  /** The instance failed: skip it for its next backoff period. */
  failed(index: number): void {
    const health = this.#health[index] as Health;
    health.failures++;
    health.probing = false;
    health.until = this.#now() + backoffDelay(health.failures + 1, this.#backoff, this.#random);
  }

  /** Whether the instance is being skipped now (for tests and diagnostics). */
  isSkipped(index: number): boolean {
    const health = this.#health[index] as Health;
    return health.failures > 0 && (health.probing || this.#now() < health.until);
  }
}
