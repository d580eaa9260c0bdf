import { SdfDevice, type SdfLibraryOptions, type SdfSession } from '../sdf';
import { isSessionFailure } from './recovery';

/**
 * Opens sessions that can sign with one internal key: session plus access right. When opening a
 * session fails because the device or the link went away, the device is opened again; the old
 * device is closed once the last of its sessions has been given back, never under a call in flight.
 */
export class SigningSessions {
  private reopening: Promise<SdfDevice> | null = null;
  private readonly retired = new Set<SdfDevice>();
  private readonly owner = new WeakMap<SdfSession, SdfDevice>();

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
    let device = this.device;
    let session: SdfSession;
    try {
      session = await device.openSession();
    } catch (error) {
      if (!isSessionFailure(error)) throw error;
      device = await this.reopen(device);
      session = await device.openSession();
    }
    this.owner.set(session, device);
    try {
      // As FISCO does: an empty password means the key needs no access-right call.
      if (this.password !== '') await session.getPrivateKeyAccessRight(this.keyIndex, this.password);
    } catch (error) {
      await this.dispose(session);
      throw error;
    }
    return session;
  }

  async dispose(session: SdfSession): Promise<void> {
    try {
      await session.close();
    } finally {
      const device = this.owner.get(session);
      if (device && this.retired.has(device) && device.openSessions === 0) {
        this.retired.delete(device);
        await device.close().catch(() => undefined);
      }
    }
  }

  /** Opens the device again, once for all callers that found `broken` gone. */
  private reopen(broken: SdfDevice): Promise<SdfDevice> {
    if (this.device !== broken) return Promise.resolve(this.device);
    this.reopening ??= SdfDevice.open(broken.libPath, this.libraryOptions)
      .then((fresh) => {
        this.device = fresh;
        if (broken.openSessions === 0) void broken.close().catch(() => undefined);
        else this.retired.add(broken);
        return fresh;
      })
      .finally(() => (this.reopening = null));
    return this.reopening;
  }

  /** Closes every device, current and retired (their remaining sessions with them). */
  async close(): Promise<void> {
    const devices = [this.device, ...this.retired];
    this.retired.clear();
    const results = await Promise.allSettled(devices.map((device) => device.close()));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
