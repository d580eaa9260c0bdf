import { SdfDevice, type SdfLibraryOptions, type SdfSession } from '../sdf';
import { isSessionFailure } from './recovery';

/**
 * Opens sessions that can sign with one internal key: session plus access right. When opening a
 * session fails because the device or the link went away, the device is opened again. The old
 * device is retired: closed once no session of it is open or being opened, never under a call in
 * flight; if that close fails (the device is still down), `close()` tries again.
 */
export class SigningSessions {
  private reopening: Promise<SdfDevice> | null = null;
  private readonly retired = new Set<SdfDevice>();
  private readonly owner = new WeakMap<SdfSession, SdfDevice>();
  /** Sessions being opened on each device right now. */
  private readonly opening = new Map<SdfDevice, number>();

  private constructor(
    private device: SdfDevice,
    private readonly libraryOptions: SdfLibraryOptions,
    private readonly keyIndex: number,
    private readonly password: string,
  ) {}

  static async open(
    libPath: string,
    libraryOptions: SdfLibraryOptions,
    keyIndex: number,
    password: string,
  ): Promise<SigningSessions> {
    return new SigningSessions(await SdfDevice.open(libPath, libraryOptions), libraryOptions, keyIndex, password);
  }

  /** The device sessions are opened on now (its library, for symbol checks and profiles). */
  get current(): SdfDevice {
    return this.device;
  }

  async create(): Promise<SdfSession> {
    let session: SdfSession;
    try {
      session = await this.openSessionOn(this.device);
    } catch (error) {
      if (!isSessionFailure(error)) throw error;
      session = await this.openSessionOn(await this.reopen(this.device));
    }
    try {
      // As FISCO does: an empty password means the key needs no access-right call.
      if (this.password !== '') await session.getPrivateKeyAccessRight(this.keyIndex, this.password);
    } catch (error) {
      await this.dispose(session);
      throw error;
    }
    return session;
  }

  private async openSessionOn(device: SdfDevice): Promise<SdfSession> {
    this.opening.set(device, (this.opening.get(device) ?? 0) + 1);
    try {
      const session = await device.openSession();
      this.owner.set(session, device);
      return session;
    } finally {
      const left = (this.opening.get(device) ?? 1) - 1;
      if (left === 0) this.opening.delete(device);
      else this.opening.set(device, left);
      this.closeIfRetiredAndIdle(device);
    }
  }

  async dispose(session: SdfSession): Promise<void> {
    try {
      await session.close();
    } finally {
      const device = this.owner.get(session);
      if (device) this.closeIfRetiredAndIdle(device);
    }
  }

  private closeIfRetiredAndIdle(device: SdfDevice): void {
    if (!this.retired.has(device) || device.openSessions > 0 || this.opening.has(device)) return;
    device.close().then(
      () => this.retired.delete(device),
      () => undefined, // still down: close() tries again
    );
  }

  /** Opens the device again, once for all callers that found `broken` gone. */
  private reopen(broken: SdfDevice): Promise<SdfDevice> {
    if (this.device !== broken) return Promise.resolve(this.device);
    this.reopening ??= SdfDevice.open(broken.libPath, this.libraryOptions)
      .then((fresh) => {
        this.device = fresh;
        this.retired.add(broken);
        this.closeIfRetiredAndIdle(broken);
        return fresh;
      })
      .finally(() => (this.reopening = null));
    return this.reopening;
  }

  /** Closes every device, current and retired (their remaining sessions with them). */
  async close(): Promise<void> {
    const devices = [this.device, ...this.retired];
    const results = await Promise.allSettled(devices.map((device) => device.close()));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') this.retired.delete(devices[i]);
    });
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
