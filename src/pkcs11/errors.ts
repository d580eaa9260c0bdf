import { ckrName } from './constants';

/** A PKCS#11 function returned a CK_RV other than CKR_OK. */
export class Pkcs11Error extends Error {
  override readonly name = 'Pkcs11Error';
  /** The numeric CK_RV. */
  readonly code: number;
  /** `CKR_PIN_INCORRECT` etc. */
  readonly codeName: string;
  /** The function that failed, e.g. `C_Sign`. */
  readonly fn: string;

  constructor(fn: string, code: number, detail?: string) {
    const codeName = ckrName(code);
    super(`${fn} failed: ${codeName} (0x${code.toString(16)})${detail ? `: ${detail}` : ''}`);
    this.code = code;
    this.codeName = codeName;
    this.fn = fn;
  }
}

export type Pkcs11BindingErrorCode =
  | 'PKCS11_LIBRARY_NOT_FOUND'
  | 'PKCS11_LIBRARY_LOAD_FAILED'
  | 'PKCS11_NOT_A_MODULE'
  | 'PKCS11_TOKEN_NOT_FOUND'
  | 'PKCS11_KEY_NOT_FOUND'
  | 'PKCS11_KEY_AMBIGUOUS'
  | 'PKCS11_KEY_UNSUPPORTED'
  /** The key found in a new session is not the one the signer started with. */
  | 'PKCS11_KEY_CHANGED'
  | 'PKCS11_BAD_RESPONSE'
  | 'PKCS11_HANDLE_CLOSED'
  | 'PKCS11_CALL_TIMEOUT'
  | 'PKCS11_SESSIONS_EXHAUSTED'
  /** A signing thread (signThreads) could not start, or ended with calls unanswered. */
  | 'PKCS11_THREAD_FAILED';

/**
 * The binding could not do its job: the module is missing or is no PKCS#11 module, the token or
 * key is not there (or not once), a handle was used after close, or an answer breaks the standard.
 */
export class Pkcs11BindingError extends Error {
  override readonly name = 'Pkcs11BindingError';
  readonly code: Pkcs11BindingErrorCode;
  readonly libPath?: string;
  readonly fn?: string;
  /** How many keys matched, for PKCS11_KEY_NOT_FOUND (0) and PKCS11_KEY_AMBIGUOUS. */
  readonly count?: number;

  constructor(
    code: Pkcs11BindingErrorCode,
    message: string,
    where: { libPath?: string; fn?: string; count?: number } = {},
  ) {
    super(message);
    this.code = code;
    this.libPath = where.libPath;
    this.fn = where.fn;
    this.count = where.count;
  }
}
