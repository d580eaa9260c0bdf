import type { CallWatcher } from './async-call';

/**
 * Most sessions of one library that may be stuck in a call past its deadline (or have failed to
 * close) before no more are opened: each holds a thread and a device session, and a library that
 * hangs would otherwise take them all.
 */
export const MAX_SESSIONS_LEFT_BEHIND = 32;

/**
 * What a session of a foreign library keeps about its calls: how many are in flight, who waits
 * for them to end, and whether it is retired (closed, or one of its calls passed its deadline and
 * may still be running inside the library). Shared by SDF and PKCS#11 sessions.
 */
export class SessionCalls implements CallWatcher {
  private pending = 0;
  private waiting: (() => void)[] = [];
  private waitingForStuck: (() => void)[] = [];
  private state: 'open' | 'closed' | 'timed out' = 'open';

  get retired(): boolean {
    return this.state !== 'open';
  }

  /** A call passed its deadline and has not returned yet: it may still be running in the library. */
  get stuck(): boolean {
    return this.state === 'timed out' && this.pending > 0;
  }

  get inFlight(): number {
    return this.pending;
  }

  /** Why the session takes no more calls, for an error message; undefined while it does. */
  refusal(): string | undefined {
    if (this.state === 'open') return undefined;
    return this.state === 'timed out' ? 'a session retired after a call timed out' : 'a closed session';
  }

  /** A call starts; the watcher's returned() ends it. */
  begin(): this {
    this.pending++;
    return this;
  }

  /** No further calls (closing); a session retired by a timeout stays marked as such. */
  retire(): void {
    if (this.state === 'open') this.state = 'closed';
  }

  /** CallWatcher: a call of the session passed its deadline (a closing session's too). */
  expired(): void {
    this.state = 'timed out';
    for (const wake of this.waitingForStuck.splice(0)) wake();
  }

  /** CallWatcher: a call of the session came back. */
  returned(): void {
    if (--this.pending === 0) for (const wake of this.waiting.splice(0)) wake();
  }

  /** Resolves once a call is in flight past its deadline: at once if one is now. */
  whenStuck(): Promise<void> {
    if (this.stuck) return Promise.resolve();
    return new Promise((resolve) => this.waitingForStuck.push(resolve));
  }

  /** Resolves once no call is in flight. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
