import { MAX_SESSIONS_LEFT_BEHIND } from '../native/session-calls';
import { SdfBindingError } from './errors';
import { SdfLibrary, type SdfLibraryOptions } from './library';
import { SdfSession, type SessionOwner } from './session';
import type { DeviceInfo } from './structs';

/**
 * The one opened device of a library file in this process. Some libraries refuse a second
 * SDF_OpenDevice, so every SdfDevice of the file shares it; the last one to close closes it.
 */
class SharedDevice {
  handle: unknown = null;
  /** Bumped at every (re)open: a session knows which opening of the device it belongs to. */
  generation = 0;
  refs = 0;
  private opening: Promise<void> | null = null;
  /** Every open session, of every SdfDevice of this file, with the device handle it belongs to. */
  readonly sessions = new Map<SdfSession, unknown>();
  /** Sessions given up: stuck in a call, or their close failed (retried before each open). */
  readonly leftBehind = new Set<SdfSession>();
  /** Handles of earlier openings whose SDF_CloseDevice failed (the device was down): closed later. */
  private readonly staleHandles: unknown[] = [];

  constructor(private readonly library: SdfLibrary) {}

  /** Opens the device unless it is open. */
  ensureOpen(): Promise<void> {
    if (this.handle !== null) return Promise.resolve();
    this.opening ??= this.openNow().finally(() => (this.opening = null));
    return this.opening;
  }

  private async openNow(): Promise<void> {
    // A library that allows one open device at a time takes no new one before the old is closed.
    await this.closeStaleHandles().catch(() => undefined);
    const out: unknown[] = [null];
    await this.library.call('SDF_OpenDevice', [out]);
    if (out[0] === null) {
      throw new SdfBindingError('SDF_BAD_RESPONSE', 'SDF_OpenDevice returned SDR_OK and a NULL handle', {
        fn: 'SDF_OpenDevice',
        libPath: this.library.path,
      });
    }
    this.handle = out[0];
    this.generation++;
  }

  /**
   * Closes the device of `generation` and opens it again, once for every caller that found it
   * broken. Its sessions are closed first (each after its calls in flight), never under a call.
   */
  async reopen(generation: number): Promise<void> {
    if (this.generation !== generation || this.opening) return this.ensureOpen();
    this.opening = this.reopenNow().finally(() => (this.opening = null));
    return this.opening;
  }

  private async reopenNow(): Promise<void> {
    const old = this.handle;
    this.handle = null;
    await this.closeSessions([...this.sessions.keys()]);
    // A session still stuck in a call keeps the old handle in use: leave that one open.
    if (old !== null && ![...this.leftBehind].some((s) => s.callsInFlight > 0)) this.staleHandles.push(old);
    await this.openNow();
  }

  /** Closes the handles of earlier openings; the first failure is thrown, the rest kept for later. */
  private async closeStaleHandles(): Promise<void> {
    while (this.staleHandles.length > 0) {
      await this.closeHandle(this.staleHandles[0]);
      this.staleHandles.shift();
    }
  }

  /**
   * SDF_CloseDevice, after which the sessions of that handle are gone with it: calling
   * SDF_CloseSession on them would hand the library a freed handle.
   */
  private async closeHandle(handle: unknown): Promise<void> {
    await this.library.call('SDF_CloseDevice', [handle]);
    for (const [session, owner] of this.sessions) if (owner === handle) session.forgetClosedDevice();
  }

  /** Closes sessions, leaving behind (and not waiting for) those stuck past a deadline. */
  async closeSessions(sessions: readonly SdfSession[]): Promise<unknown[]> {
    const failures: unknown[] = [];
    await Promise.all(
      sessions.map(async (session) => {
        if (session.stuckInCall) {
          this.leaveBehind(session);
          return;
        }
        await session.close().catch((error: unknown) => failures.push(error));
      }),
    );
    return failures;
  }

  leaveBehind(session: SdfSession): void {
    this.leftBehind.add(session);
    // closed once its call returns; a failure leaves it for the next retry
    void session
      .whenIdle()
      .then(() => session.close())
      .catch(() => undefined);
  }

  /** Tries again to close what was left behind and is no longer in a call. */
  async retryLeftBehind(): Promise<void> {
    await Promise.all(
      [...this.leftBehind].filter((s) => s.callsInFlight === 0).map((s) => s.close().catch(() => undefined)),
    );
  }

  async closeDevice(): Promise<void> {
    if (this.refs > 0) return;
    if ([...this.leftBehind].some((s) => s.callsInFlight > 0)) return; // closed by the last of them
    await this.closeStaleHandles();
    const handle = this.handle;
    if (handle !== null && this.refs === 0) {
      this.handle = null;
      try {
        await this.closeHandle(handle);
      } catch (error) {
        this.staleHandles.push(handle); // close() tries again
        throw error;
      }
    }
    if (this.refs === 0 && this.handle === null && this.staleHandles.length === 0)
      shared.delete(this.library.fileIdentity);
  }
}

const shared = new Map<unknown, SharedDevice>();

/**
 * An open SDF device. Every SdfDevice of one library file shares the one opened device of the
 * process; closing one closes the sessions it opened, and the last one closes the device.
 */
export class SdfDevice implements SessionOwner {
  private closing: Promise<void> | null = null;
  private closed_ = false;
  private readonly sessions = new Set<SdfSession>();
  private readonly openingSessions = new Set<Promise<unknown>>();

  private constructor(
    readonly library: SdfLibrary,
    private readonly device: SharedDevice,
  ) {}

  /** Loads the library and opens the device, or shares it when this process has it open. */
  static async open(libPath: string, options: SdfLibraryOptions = {}): Promise<SdfDevice> {
    const library = new SdfLibrary(libPath, options);
    library.require(['SDF_OpenDevice', 'SDF_CloseDevice', 'SDF_OpenSession', 'SDF_CloseSession'], 'opening a device');
    let device = shared.get(library.fileIdentity);
    if (!device) shared.set(library.fileIdentity, (device = new SharedDevice(library)));
    device.refs++;
    try {
      await device.ensureOpen();
    } catch (error) {
      device.refs--;
      if (device.refs === 0 && device.handle === null) shared.delete(library.fileIdentity);
      throw error;
    }
    return new SdfDevice(library, device);
  }

  get libPath(): string {
    return this.library.path;
  }

  get closed(): boolean {
    return this.closed_;
  }

  /** Sessions opened on this device and not yet closed. */
  get openSessions(): number {
    return this.sessions.size;
  }

  /** Which opening of the device sessions are made on now (see reopen). */
  get generation(): number {
    return this.device.generation;
  }

  /** Sessions of this library given up in this process: stuck in a call, or failing to close. */
  get sessionsLeftBehind(): number {
    return this.device.leftBehind.size;
  }

  async openSession(): Promise<SdfSession> {
    if (this.closing || this.closed_) {
      throw new SdfBindingError('SDF_HANDLE_CLOSED', 'SDF_OpenSession called on a closed device', {
        fn: 'SDF_OpenSession',
        libPath: this.libPath,
      });
    }
    const opening = this.openSessionNow();
    this.openingSessions.add(opening);
    try {
      return await opening;
    } finally {
      this.openingSessions.delete(opening);
    }
  }

  private async openSessionNow(): Promise<SdfSession> {
    const device = this.device;
    if (device.leftBehind.size > 0) await device.retryLeftBehind();
    if (device.leftBehind.size >= MAX_SESSIONS_LEFT_BEHIND) {
      throw new SdfBindingError(
        'SDF_SESSIONS_EXHAUSTED',
        `${device.leftBehind.size} sessions of ${this.libPath} are stuck in calls or failed to close; ` +
          'no more are opened until they return',
        { fn: 'SDF_OpenSession', libPath: this.libPath },
      );
    }
    await device.ensureOpen();
    const out: unknown[] = [null];
    await this.library.call('SDF_OpenSession', [device.handle, out]);
    const session = new SdfSession(this.library, out[0], this);
    this.sessions.add(session);
    device.sessions.set(session, device.handle);
    return session;
  }

  /** SessionOwner: a session closed, or its close failed and it is left behind to retry. */
  sessionEnded(session: SdfSession, closed: boolean): void {
    if (!closed) {
      this.device.leftBehind.add(session);
      return;
    }
    this.sessions.delete(session);
    this.device.sessions.delete(session);
    this.device.leftBehind.delete(session);
    if (this.device.refs === 0) void this.device.closeDevice().catch(() => undefined);
  }

  /**
   * Closes the device as it was at `generation` and opens it again (the link or the device went
   * away), unless that was done already. Every session on the old device is closed.
   */
  reopen(generation: number): Promise<void> {
    if (this.closing || this.closed_) {
      return Promise.reject(
        new SdfBindingError('SDF_HANDLE_CLOSED', 'the device is closed', {
          fn: 'SDF_OpenDevice',
          libPath: this.libPath,
        }),
      );
    }
    return this.device.reopen(generation);
  }

  /**
   * Closes a session, or, when it is stuck in a call past its deadline, leaves it behind to be
   * closed once that call returns (counted against MAX_SESSIONS_LEFT_BEHIND meanwhile).
   */
  async retire(session: SdfSession): Promise<void> {
    if (session.stuckInCall) {
      this.device.leaveBehind(session);
      return;
    }
    await session.close();
  }

  /** Device information, read through a short-lived session. */
  async info(): Promise<DeviceInfo> {
    const session = await this.openSession();
    try {
      return await session.getDeviceInfo();
    } finally {
      await session.close();
    }
  }

  /**
   * Closes the sessions this SdfDevice opened (each once its calls in flight return; one stuck in
   * a call past its deadline is closed when that call returns), then, if no other SdfDevice of
   * the library is open, the device. Callers during a close share it; after a close that failed
   * (the device still down, say), close() tries again.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce().finally(() => (this.closing = null));
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    await Promise.allSettled([...this.openingSessions]);
    const failures = await this.device.closeSessions([...this.sessions]);
    if (!this.closed_) {
      this.closed_ = true;
      this.device.refs--;
    }
    await this.device.closeDevice();
    if (failures.length > 0) throw failures[0];
  }
}

/** Opens the SDF device behind the library at `libPath` (shared within the process). */
export function openDevice(libPath: string, options?: SdfLibraryOptions): Promise<SdfDevice> {
  return SdfDevice.open(libPath, options);
}
