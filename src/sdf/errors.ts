import { sdrName } from './codes';

/** A device function returned a non-zero SDR code. */
export class SdfError extends Error {
  override readonly name = 'SdfError';
  /** The numeric SDR value the device returned. */
  readonly code: number;
  /** `SDR_PARDENY` etc. */
  readonly codeName: string;
  /** The SDF function that failed, e.g. `SDF_InternalSign_ECC`. */
  readonly fn: string;

  constructor(fn: string, code: number, detail?: string) {
    const codeName = sdrName(code);
    const hex = `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
    super(`${fn} failed: ${codeName} (${hex})${detail ? `: ${detail}` : ''}`);
    this.code = code;
    this.codeName = codeName;
    this.fn = fn;
  }
}

export type SdfBindingErrorCode =
  | 'SDF_LIBRARY_NOT_FOUND'
  | 'SDF_LIBRARY_LOAD_FAILED'
  | 'SDF_SYMBOL_MISSING'
  | 'SDF_HANDLE_CLOSED'
  | 'SDF_BAD_RESPONSE'
  /** The device gave a signature that does not verify under the key (host verification is on). */
  | 'SDF_BAD_SIGNATURE'
  /** The key at the index is no longer the one the signer started with: recreate the signer. */
  | 'SDF_KEY_CHANGED'
  /** A call did not return within its deadline; its session is retired. */
  | 'SDF_CALL_TIMEOUT'
  /** Too many sessions are stuck in calls or could not be closed to open another. */
  | 'SDF_SESSIONS_EXHAUSTED'
  /** A call that would break the library's thread model (a synchronous call that must queue). */
  | 'SDF_CALL_REFUSED'
  /** A signing thread (signThreads) could not start, or ended with calls unanswered. */
  | 'SDF_THREAD_FAILED';

/**
 * The binding itself could not do its job: the library is missing or lacks a function,
 * a handle was used after close, or the device answered with data that breaks the standard.
 */
export class SdfBindingError extends Error {
  override readonly name = 'SdfBindingError';
  readonly code: SdfBindingErrorCode;
  readonly libPath?: string;
  readonly fn?: string;

  constructor(code: SdfBindingErrorCode, message: string, where: { libPath?: string; fn?: string } = {}) {
    super(message);
    this.code = code;
    this.libPath = where.libPath;
    this.fn = where.fn;
  }
}
