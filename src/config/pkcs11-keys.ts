/**
 * Parsers of the `[security]` keys gmt0018 adds for PKCS#11 HSMs (not read by FISCO):
 *   pkcs11_key_id=0a1b2c (hex)      pkcs11_sessions=8
 *   pkcs11_profile=sansec|tass|luna|ibm-ep11
 *   pkcs11_sm2_mechanism=0x80008104  pkcs11_signature_format=raw|der
 */
import { isPkcs11Sm2ProfileName, PKCS11_SM2_PROFILE_NAMES } from '../pkcs11/profiles';
import { badValue, parseUnsignedInt, showValue, type ValueSite } from './values';

export function parseHexId(raw: string, site: ValueSite): string {
  const hex = raw.replace(/^0x/i, '');
  if (hex.length > 0 && hex.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(hex)) return hex.toLowerCase();
  throw badValue(
    raw === '' ? 'is empty' : `${showValue(raw, site)} is not hex`,
    'the key CKA_ID in hex, e.g. 0a1b',
    site,
  );
}

/** Most sessions a pool opens (koffi queues at most 256 async calls). */
export const MAX_PKCS11_SESSIONS = 256;

export function parseSessionCount(raw: string, site: ValueSite): number {
  const count = parseUnsignedInt(raw, site, { max: MAX_PKCS11_SESSIONS, maxReason: 'the most a pool opens' });
  if (count === 0) throw badValue('is 0', `a number of sessions from 1 to ${MAX_PKCS11_SESSIONS}`, site);
  return count;
}

export function parsePkcs11Profile(raw: string, site: ValueSite): string {
  if (isPkcs11Sm2ProfileName(raw)) return raw;
  throw badValue(
    raw === '' ? 'is empty' : `${showValue(raw, site)} is not a known PKCS#11 SM2 profile`,
    PKCS11_SM2_PROFILE_NAMES.join(', '),
    site,
  );
}

/** A mechanism code, in hex (0x80008104) or decimal. */
export function parseMechanism(raw: string, site: ValueSite): number {
  const value = /^0x[0-9a-fA-F]{1,8}$/.test(raw) ? Number.parseInt(raw.slice(2), 16) : undefined;
  if (value !== undefined) return value;
  return parseUnsignedInt(raw, site);
}

export function parseSignatureFormat(raw: string, site: ValueSite): 'raw' | 'der' {
  if (raw === 'raw' || raw === 'der') return raw;
  throw badValue(
    raw === '' ? 'is empty' : `${showValue(raw, site)} is not a signature format`,
    'raw (r‖s) or der (a SEQUENCE of two INTEGERs)',
    site,
  );
}
