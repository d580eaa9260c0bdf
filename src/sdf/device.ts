import { SdfBindingError } from './errors';
import { SdfLibrary, SdfLibraryOptions } from './library';
import { SdfSession } from './session';
import './session-ecc';
import './session-symmetric';
import type { DeviceInfo } from './structs';

/** An open SDF device. Closing it closes every session it opened. */
export class SdfDevice {
  private handle: unknown;
  private closing: Promise<void> | null = null;
  private readonly sessions = new Set<SdfSession>();

  private constructor(
    readonly library: SdfLibrary,
    handle: unknown,
  ) {
    this.handle = handle;
  }

  /** Loads the library and opens the device. */
  static async open(libPath: string, options: SdfLibraryOptions = {}): Promise<SdfDevice> {
    const library = new SdfLibrary(libPath, options);
    library.require(['SDF_OpenDevice', 'SDF_CloseDevice', 'SDF_OpenSession', 'SDF_CloseSession'], 'opening a device');
    const out: unknown[] = [null];
    await library.call('SDF_OpenDevice', out);
    return new SdfDevice(library, out[0]);
  }

  get libPath(): string {
    return this.library.path;
  }

  get closed(): boolean {
    return this.handle === null;
  }

  /** Sessions opened on this device and not yet closed. */
  get openSessions(): number {
    return this.sessions.size;
  }

  async openSession(): Promise<SdfSession> {
    if (this.handle === null) {
      throw new SdfBindingError('SDF_HANDLE_CLOSED', 'SDF_OpenSession called on a closed device', {
        fn: 'SDF_OpenSession',
        libPath: this.libPath,
      });
    }
    const out: unknown[] = [null];
    await this.library.call('SDF_OpenSession', this.handle, out);
    const session = new SdfSession(this.library, out[0], (closed) => this.sessions.delete(closed));
    this.sessions.add(session);
    return session;
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
   * Closes the sessions still open, then the device. Callers during a close share it; after a
   * close that failed (the device still down, say) the handle is kept, so close() can try again.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce().finally(() => (this.closing = null));
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    const results = await Promise.allSettled([...this.sessions].map((session) => session.close()));
    this.handle = null;
    try {
      await this.library.call('SDF_CloseDevice', handle);
    } catch (error) {
      this.handle = handle;
      throw error;
    }
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Opens the SDF device behind the library at `libPath`. */
export function openDevice(libPath: string, options?: SdfLibraryOptions): Promise<SdfDevice> {
  return SdfDevice.open(libPath, options);
}
