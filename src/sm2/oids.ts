export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_SM2 = '1.2.156.10197.1.301';

const NAMES: Record<string, string> = {
  [OID_EC_PUBLIC_KEY]: 'id-ecPublicKey',
  [OID_SM2]: 'SM2',
  '1.2.840.10045.3.1.7': 'prime256v1 / P-256',
  '1.3.132.0.10': 'secp256k1',
  '1.3.132.0.34': 'secp384r1 / P-384',
  '1.3.132.0.35': 'secp521r1 / P-521',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.2.840.113549.1.1.1': 'rsaEncryption',
  '1.2.840.10040.4.1': 'DSA',
  '1.3.101.110': 'X25519',
  '1.3.101.112': 'Ed25519',
};

/** "1.2.840.10045.3.1.7 (prime256v1 / P-256)" or the bare OID when unknown. */
export function describeOid(oid: string): string {
  const name = NAMES[oid];
  return name === undefined ? oid : `${oid} (${name})`;
}
