/**
 * Finding one signing key on a token and learning its algorithm and public key, from the
 * attributes modules actually store: CKA_EC_PARAMS as a curve OID (or, for Edwards curves in
 * SoftHSM, the printable curve name), CKA_EC_POINT DER-wrapped or raw, on the public object or
 * (AWS CloudHSM) on the private one.
 */
import { createHash } from 'node:crypto';
import { decodeOid, readTlv, TAG_OCTET_STRING, TAG_OID } from '../sm2/asn1';
import { OID_SM2 } from '../sm2/oids';
import { template, readUlong, ulongValue } from './attributes';
import { CKA, CKK_EC, CKK_EC_EDWARDS, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY } from './constants';
import { Pkcs11BindingError } from './errors';
import type { Sm2Profile } from './profiles';
import type { Pkcs11Session } from './session';

/** What a signer signs with (SDF keys are SM2; PKCS#11 keys any of these). */
export type Pkcs11Algorithm = 'sm2' | 'ecdsa-p256' | 'ecdsa-secp256k1' | 'ed25519';

const CURVES: Record<string, Pkcs11Algorithm> = {
  '1.2.840.10045.3.1.7': 'ecdsa-p256',
  '1.3.132.0.10': 'ecdsa-secp256k1',
  [OID_SM2]: 'sm2',
  '1.3.101.112': 'ed25519',
};
const PRINTABLE_STRING = 0x13;
const EDWARDS_NAMES = new Set(['edwards25519', 'curve25519', 'ed25519']);

export interface KeySelector {
  label?: string;
  /** CKA_ID, or the SHA-256 of the uncompressed public point (Fabric's SKI). */
  id?: Uint8Array;
}

export interface FoundKey {
  handle: number;
  algorithm: Pkcs11Algorithm;
  /** x‖y (64 bytes) for Weierstrass curves, the 32-byte point for Ed25519. */
  publicKey: Uint8Array;
}

function describe(selector: KeySelector): string {
  const parts = [];
  if (selector.label !== undefined) parts.push(`label ${JSON.stringify(selector.label)}`);
  if (selector.id !== undefined) parts.push(`id ${Buffer.from(selector.id).toString('hex')}`);
  return parts.join(' and ');
}

function selectorTemplate(klass: number, selector: KeySelector) {
  const entries: [number, Buffer][] = [[CKA.CLASS, ulongValue(klass)]];
  if (selector.label !== undefined) entries.push([CKA.LABEL, Buffer.from(selector.label, 'utf8')]);
  if (selector.id !== undefined) entries.push([CKA.ID, Buffer.from(selector.id)]);
  return template(entries);
}

/**
 * Exactly one private key by label and/or id, with its algorithm and public key.
 * @throws Pkcs11BindingError PKCS11_KEY_NOT_FOUND / PKCS11_KEY_AMBIGUOUS (with the count) or
 *   PKCS11_KEY_UNSUPPORTED
 */
export async function findSigningKey(
  session: Pkcs11Session,
  selector: KeySelector,
  sm2: Sm2Profile | undefined,
): Promise<FoundKey> {
  if (selector.label === undefined && selector.id === undefined) {
    throw new TypeError('a PKCS#11 key is selected by label or id (pkcs11_key_label / pkcs11_key_id)');
  }
  let handles = await session.findObjects(selectorTemplate(CKO_PRIVATE_KEY, selector));
  if (handles.length === 0 && selector.id !== undefined && selector.id.length === 32) {
    handles = await findBySki(session, { ...selector, id: undefined }, selector.id, sm2);
  }
  if (handles.length !== 1) {
    const what = describe(selector);
    throw new Pkcs11BindingError(
      handles.length === 0 ? 'PKCS11_KEY_NOT_FOUND' : 'PKCS11_KEY_AMBIGUOUS',
      handles.length === 0
        ? `no private key with ${what} on the token`
        : `${handles.length} private keys with ${what} on the token: select one by pkcs11_key_id`,
      { count: handles.length },
    );
  }
  const handle = handles[0];
  const [keyType, params] = await session.getAttributes(handle, [CKA.KEY_TYPE, CKA.EC_PARAMS]);
  const algorithm = algorithmOf(keyType, params, sm2);
  const point = await pointOf(session, handle);
  if (point === undefined) {
    throw new Pkcs11BindingError(
      'PKCS11_KEY_UNSUPPORTED',
      `the key with ${describe(selector)} has no public point (no CKA_EC_POINT on it or on one public key object)`,
    );
  }
  return { handle, algorithm, publicKey: publicKeyOf(point, algorithm) };
}

/**
 * CKA_EC_POINT of a private key: on the key itself (AWS CloudHSM keeps it there), else on the one
 * public key object with the same CKA_ID (or, without an id, the same label).
 */
async function pointOf(session: Pkcs11Session, handle: number): Promise<Buffer | undefined> {
  const [own, id, label] = await session.getAttributes(handle, [CKA.EC_POINT, CKA.ID, CKA.LABEL]);
  if (own !== undefined) return own;
  const match =
    id !== undefined && id.length > 0 ? { id } : label !== undefined ? { label: label.toString('utf8') } : undefined;
  if (match === undefined) return undefined;
  const publics = await session.findObjects(selectorTemplate(CKO_PUBLIC_KEY, match));
  if (publics.length !== 1) return undefined;
  const [point] = await session.getAttributes(publics[0], [CKA.EC_POINT]);
  return point;
}

async function findBySki(session: Pkcs11Session, rest: KeySelector, ski: Uint8Array, sm2: Sm2Profile | undefined) {
  const matches: number[] = [];
  for (const handle of await session.findObjects(selectorTemplate(CKO_PRIVATE_KEY, rest))) {
    const [keyType, params] = await session.getAttributes(handle, [CKA.KEY_TYPE, CKA.EC_PARAMS]);
    let candidate = await pointOf(session, handle);
    if (candidate === undefined) continue;
    try {
      const algorithm = algorithmOf(keyType, params, sm2);
      if (algorithm === 'ed25519') continue;
      candidate = Buffer.concat([Buffer.from([4]), publicKeyOf(candidate, algorithm)]);
    } catch {
      continue;
    }
    if (createHash('sha256').update(candidate).digest().equals(Buffer.from(ski))) matches.push(handle);
  }
  return matches;
}

/** The algorithm of a key from its CKA_KEY_TYPE and CKA_EC_PARAMS. */
export function algorithmOf(
  keyType: Buffer | undefined,
  params: Buffer | undefined,
  sm2: Sm2Profile | undefined,
): Pkcs11Algorithm {
  const type = keyType === undefined ? undefined : readUlong(keyType);
  if (sm2 !== undefined && type === sm2.keyType && type !== CKK_EC) return 'sm2';
  const curve = params === undefined ? undefined : curveOf(params);
  if ((type === CKK_EC || type === CKK_EC_EDWARDS || type === undefined) && curve !== undefined) return curve;
  throw new Pkcs11BindingError(
    'PKCS11_KEY_UNSUPPORTED',
    `unsupported key: CKA_KEY_TYPE 0x${type?.toString(16) ?? '?'}` +
      (params ? ` on curve ${describeParams(params)}` : '') +
      ' (gmt0018 signs with P-256, secp256k1, Ed25519 and SM2 keys; for SM2 under a vendor key type set pkcs11_profile)',
  );
}

function curveOf(params: Buffer): Pkcs11Algorithm | undefined {
  try {
    const tlv = readTlv(params, 0);
    if (tlv.end !== params.length) return undefined;
    if (tlv.tag === TAG_OID) return CURVES[decodeOid(params, tlv)];
    if (tlv.tag === PRINTABLE_STRING) {
      const name = params.subarray(tlv.start, tlv.end).toString('latin1');
      return EDWARDS_NAMES.has(name) ? 'ed25519' : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function describeParams(params: Buffer): string {
  try {
    const tlv = readTlv(params, 0);
    if (tlv.tag === TAG_OID) return decodeOid(params, tlv);
  } catch {
    // not DER: shown as hex below
  }
  return params.subarray(0, 32).toString('hex');
}

/**
 * The point from CKA_EC_POINT: a DER OCTET STRING around it, or the raw point. A raw point can
 * itself parse as an OCTET STRING (it starts with 0x04), so the reading that yields a point wins.
 */
function publicKeyOf(point: Buffer, algorithm: Pkcs11Algorithm): Uint8Array {
  const readings = [point];
  try {
    const tlv = readTlv(point, 0);
    if (tlv.tag === TAG_OCTET_STRING && tlv.end === point.length) readings.unshift(point.subarray(tlv.start, tlv.end));
  } catch {
    // not DER-wrapped: only the raw reading
  }
  for (const raw of readings) {
    if (algorithm === 'ed25519' && raw.length === 32) return new Uint8Array(raw);
    if (algorithm !== 'ed25519' && raw.length === 65 && raw[0] === 4) return new Uint8Array(raw.subarray(1));
  }
  throw new Pkcs11BindingError(
    'PKCS11_KEY_UNSUPPORTED',
    `CKA_EC_POINT is not an uncompressed ${algorithm} point (${point.length} bytes)`,
  );
}
