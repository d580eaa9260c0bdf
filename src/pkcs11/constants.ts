/**
 * PKCS#11 constants the binding uses, with their values from the OASIS standard (v2.40 / v3.0)
 * and, for SM2, from vendors' public headers.
 */

/** Return values (CK_RV) and their names, for messages. */
export const CKR = Object.freeze({
  CKR_OK: 0x0,
  CKR_CANCEL: 0x1,
  CKR_HOST_MEMORY: 0x2,
  CKR_SLOT_ID_INVALID: 0x3,
  CKR_GENERAL_ERROR: 0x5,
  CKR_FUNCTION_FAILED: 0x6,
  CKR_ARGUMENTS_BAD: 0x7,
  CKR_ATTRIBUTE_SENSITIVE: 0x11,
  CKR_ATTRIBUTE_TYPE_INVALID: 0x12,
  CKR_ATTRIBUTE_VALUE_INVALID: 0x13,
  CKR_DATA_INVALID: 0x20,
  CKR_DATA_LEN_RANGE: 0x21,
  CKR_DEVICE_ERROR: 0x30,
  CKR_DEVICE_MEMORY: 0x31,
  CKR_DEVICE_REMOVED: 0x32,
  CKR_FUNCTION_CANCELED: 0x50,
  CKR_FUNCTION_NOT_SUPPORTED: 0x54,
  CKR_KEY_HANDLE_INVALID: 0x60,
  CKR_KEY_TYPE_INCONSISTENT: 0x63,
  CKR_KEY_FUNCTION_NOT_PERMITTED: 0x68,
  CKR_MECHANISM_INVALID: 0x70,
  CKR_MECHANISM_PARAM_INVALID: 0x71,
  CKR_OBJECT_HANDLE_INVALID: 0x82,
  CKR_OPERATION_ACTIVE: 0x90,
  CKR_OPERATION_NOT_INITIALIZED: 0x91,
  CKR_PIN_INCORRECT: 0xa0,
  CKR_PIN_INVALID: 0xa1,
  CKR_PIN_LEN_RANGE: 0xa2,
  CKR_PIN_EXPIRED: 0xa3,
  CKR_PIN_LOCKED: 0xa4,
  CKR_SESSION_CLOSED: 0xb0,
  CKR_SESSION_COUNT: 0xb1,
  CKR_SESSION_HANDLE_INVALID: 0xb3,
  CKR_SESSION_PARALLEL_NOT_SUPPORTED: 0xb4,
  CKR_SESSION_READ_ONLY: 0xb5,
  CKR_SESSION_EXISTS: 0xb6,
  CKR_SIGNATURE_INVALID: 0xc0,
  CKR_SIGNATURE_LEN_RANGE: 0xc1,
  CKR_TOKEN_NOT_PRESENT: 0xe0,
  CKR_TOKEN_NOT_RECOGNIZED: 0xe1,
  CKR_USER_ALREADY_LOGGED_IN: 0x100,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_USER_PIN_NOT_INITIALIZED: 0x102,
  CKR_USER_TYPE_INVALID: 0x103,
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: 0x104,
  CKR_USER_TOO_MANY_TYPES: 0x105,
  CKR_BUFFER_TOO_SMALL: 0x150,
  CKR_CRYPTOKI_NOT_INITIALIZED: 0x190,
  CKR_CRYPTOKI_ALREADY_INITIALIZED: 0x191,
  CKR_FUNCTION_REJECTED: 0x200,
});

export type CkrName = keyof typeof CKR;

const CKR_NAMES = new Map<number, string>(Object.entries(CKR).map(([name, value]) => [value, name]));

/** `CKR_DEVICE_ERROR` for 0x30; a vendor code as `CKR_VENDOR_DEFINED+0x…`, anything else in hex. */
export function ckrName(code: number): string {
  const known = CKR_NAMES.get(code);
  if (known !== undefined) return known;
  if (code >= 0x80000000) return `CKR_VENDOR_DEFINED+0x${(code - 0x80000000).toString(16)}`;
  return `CKR_0x${code.toString(16)}`;
}

export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;

export const CKA = Object.freeze({
  CLASS: 0x0,
  TOKEN: 0x1,
  PRIVATE: 0x2,
  LABEL: 0x3,
  VALUE: 0x11,
  KEY_TYPE: 0x100,
  ID: 0x102,
  SENSITIVE: 0x103,
  SIGN: 0x108,
  VERIFY: 0x10a,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
});

export const CKK_EC = 0x3;
export const CKK_EC_EDWARDS = 0x40;

export const CKM_ECDSA = 0x1041;
export const CKM_EDDSA = 0x1057;

export const CKU_USER = 1;

export const CKF_RW_SESSION = 0x2;
export const CKF_SERIAL_SESSION = 0x4;
export const CKF_OS_LOCKING_OK = 0x2;
export const CKF_TOKEN_PRESENT = 0x1;
export const CKF_LOGIN_REQUIRED = 0x4;

/** An attribute the object does not have, or will not show (CK_UNAVAILABLE_INFORMATION). */
export const UNAVAILABLE = 0xffffffffffffffffn;
