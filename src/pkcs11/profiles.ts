/**
 * SM2 has no standard PKCS#11 mechanism; vendors define their own key types and mechanisms.
 * The codes below are from the vendors' public headers. Each profile signs the 32-byte digest
 * e = SM3(Z‖M), computed on the host.
 */
export interface Sm2Profile {
  /** CKA_KEY_TYPE of the vendor's SM2 keys; keys of type CKK_EC with the SM2 curve OID also count. */
  keyType: number;
  /** The raw SM2 signature mechanism (input: e). */
  mechanism: number;
  /** How the module returns r and s: 64 bytes r‖s, or a DER SEQUENCE of two INTEGERs. */
  signatureFormat: 'raw' | 'der';
}

export const PKCS11_SM2_PROFILES = Object.freeze({
  /** Sansec: CKK_SM2 0x80000004, raw SM2 0x80008104 (SM3+SM2 is 0x80008100). */
  sansec: { keyType: 0x80000004, mechanism: 0x80008104, signatureFormat: 'raw' },
  /** TASS: raw SM2 0x80008000, DER signatures. */
  tass: { keyType: 0x80000004, mechanism: 0x80008000, signatureFormat: 'der' },
  /** Thales Luna: CKK_SM2 0x80000016, CKM_SM2DSA 0x80000B21. */
  luna: { keyType: 0x80000016, mechanism: 0x80000b21, signatureFormat: 'raw' },
  /** IBM EP11: CKK_EC keys on the SM2 curve, CKM_IBM_SM2 0x8005000B. */
  'ibm-ep11': { keyType: 0x3, mechanism: 0x8005000b, signatureFormat: 'raw' },
} as const satisfies Record<string, Sm2Profile>);

export type Pkcs11Sm2ProfileName = keyof typeof PKCS11_SM2_PROFILES;
export const PKCS11_SM2_PROFILE_NAMES = Object.keys(PKCS11_SM2_PROFILES) as Pkcs11Sm2ProfileName[];

export function isPkcs11Sm2ProfileName(name: string): name is Pkcs11Sm2ProfileName {
  return Object.hasOwn(PKCS11_SM2_PROFILES, name);
}
