import { TAG_BIT_STRING, TAG_OID, TAG_SEQUENCE, children, decodeOid, encodeOid, encodeTlv, readTlv } from './asn1';
import { describeType, hasUtf8Bom, isAsciiText, isHex } from './bytes';
import { Point } from './curve';
import { normalizePublicKey, pointToPublicKey } from './keys';
import { finalTypeError, isFinal } from './errors';
import { OID_EC_PUBLIC_KEY, OID_SM2, describeOid } from './oids';
import { decodePemBody, encodePem, looksLikePem, readPemBlocks } from './pem';

const SPKI_ALGORITHM = encodeTlv(TAG_SEQUENCE, encodeOid(OID_EC_PUBLIC_KEY), encodeOid(OID_SM2));

/** SubjectPublicKeyInfo PEM with the identifiers OpenSSL 3 writes for SM2 keys. */
export function publicKeyToPem(publicKey: Uint8Array): string {
  const xy = normalizePublicKey(publicKey);
  const der = encodeTlv(TAG_SEQUENCE, SPKI_ALGORITHM, encodeTlv(TAG_BIT_STRING, Uint8Array.of(0x00, 0x04), xy));
  return encodePem('PUBLIC KEY', der);
}

/**
 * 64-byte x||y from PEM "PUBLIC KEY" (SPKI), SPKI DER, raw 64/65 bytes (or 33 compressed),
 * or hex of those (optional 0x, surrounding whitespace).
 */
export function parsePublicKey(input: string | Uint8Array): Uint8Array {
  try {
    if (typeof input === 'string') return parseText(input);
    if (input instanceof Uint8Array) {
      if (input.length === 33 || input.length === 64 || input.length === 65) return pointBytes(input);
      if (!isAsciiText(input) && !hasUtf8Bom(input)) return parseSpki(input);
      return parseText(Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1'));
    }
  } catch (err) {
    if (isFinal(err)) throw err;
    if (err instanceof TypeError) throw finalTypeError(`not a valid SM2 public key (${err.message})`);
    throw err;
  }
  throw new TypeError(`public key input must be a string or Uint8Array, got ${describeType(input)}`);
}

function pointBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 33) {
    if (bytes[0] !== 0x02 && bytes[0] !== 0x03) throw new TypeError('bad compressed point prefix');
    let point;
    try {
      point = Point.fromBytes(bytes);
    } catch {
      throw new TypeError('compressed point is not on the SM2 curve');
    }
    return pointToPublicKey(point);
  }
  return normalizePublicKey(bytes);
}

function parseText(raw: string): Uint8Array {
  const text = raw.replace(/^\uFEFF/, '').replace(/^\xEF\xBB\xBF/, '');
  if (looksLikePem(text)) {
    const blocks = readPemBlocks(text);
    const block = blocks.find((b) => b.label === 'PUBLIC KEY');
    if (block === undefined) {
      const labels = blocks.map((b) => b.label).join(', ') || 'none';
      throw new TypeError(`no "PUBLIC KEY" PEM block; found: ${labels}`);
    }
    return parseSpki(decodePemBody(block));
  }
  let hex = text.trim();
  if (hex.startsWith('0x') || hex.startsWith('0X')) hex = hex.slice(2);
  if (isHex(hex) && (hex.length === 66 || hex.length === 128 || hex.length === 130)) {
    return pointBytes(new Uint8Array(Buffer.from(hex, 'hex')));
  }
  throw new TypeError('expected PEM, DER, or 128/130 hex characters');
}

function parseSpki(der: Uint8Array): Uint8Array {
  const top = readTlv(der, 0);
  if (top.tag !== TAG_SEQUENCE || top.end !== der.length) throw new TypeError('SPKI is not a single SEQUENCE');
  const kids = children(der, top);
  if (kids.length !== 2 || kids[0].tag !== TAG_SEQUENCE || kids[1].tag !== TAG_BIT_STRING) {
    throw new TypeError('bad SubjectPublicKeyInfo');
  }
  const alg = children(der, kids[0]);
  if (alg.length < 1 || alg.length > 2) throw new TypeError('bad AlgorithmIdentifier');
  const algOid = decodeOid(der, alg[0]);
  const curveOid = alg[1] !== undefined && alg[1].tag === TAG_OID ? decodeOid(der, alg[1]) : undefined;
  const isSm2 =
    (algOid === OID_EC_PUBLIC_KEY && curveOid === OID_SM2) ||
    (algOid === OID_SM2 && (curveOid === undefined || curveOid === OID_SM2));
  if (!isSm2) {
    const found =
      algOid === OID_EC_PUBLIC_KEY && curveOid !== undefined
        ? `curve ${describeOid(curveOid)}`
        : `algorithm ${describeOid(algOid)}`;
    throw finalTypeError(`public key is for ${found}; an SM2 key (curve OID ${OID_SM2}) is needed`);
  }
  const bits = der.subarray(kids[1].start, kids[1].end);
  if (bits.length < 2 || bits[0] !== 0) throw new TypeError('bad BIT STRING');
  return pointBytes(bits.subarray(1));
}
