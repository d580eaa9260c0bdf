import {
  TAG_BIT_STRING,
  TAG_CONTEXT_0,
  TAG_CONTEXT_1,
  TAG_NULL,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  children,
  decodeOid,
  encodeOid,
  encodeTlv,
  readSmallInteger,
  readTlv,
  type Tlv,
} from './asn1';
import { bigIntTo32Bytes, bytesToBigInt, describeType, equalBytes, hasUtf8Bom, isAsciiText, isHex } from './bytes';
import { Point, SM2_N } from './curve';
import { privateKeyToScalar, pointToPublicKey } from './keys';
import { finalTypeError, isFinal } from './errors';
import { OID_EC_PUBLIC_KEY, OID_SM2, describeOid } from './oids';
import { decodePemBody, encodePem, looksLikePem, readPemBlocks } from './pem';

const PRIVATE_LABELS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'SM2 PRIVATE KEY']);
const ENCRYPTED_HINT =
  'encrypted private keys are not supported; decrypt it first, e.g. `openssl pkey -in KEY.pem -out PLAIN.pem`';

type Curve = { kind: 'named'; oid: string } | { kind: 'explicit' } | undefined;

function prefix(source: string | undefined): string {
  return source ? `${source}: ` : '';
}

function invalid(source: string | undefined, reason: string): TypeError {
  return finalTypeError(`${prefix(source)}not a valid SM2 private key (${reason})`);
}

/**
 * 32-byte SM2 private key d from PEM (PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" or
 * "SM2 PRIVATE KEY"), DER of either, 64 hex characters, or 32 raw bytes.
 * `source` (a file path, say) is put into error messages.
 */
export function parsePrivateKey(input: string | Uint8Array, source?: string): Uint8Array {
  if (source !== undefined && typeof source !== 'string') {
    throw new TypeError(`source must be a string, got ${describeType(source)}`);
  }
  try {
    if (typeof input === 'string') return parseText(input, source);
    if (input instanceof Uint8Array) {
      if (input.length === 32) return checkedScalarBytes(input, source);
      // DER always holds control bytes (tags, lengths); key files read as bytes are ASCII.
      if (!isAsciiText(input) && !hasUtf8Bom(input)) return parseDer(input, source);
      return parseText(Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1'), source);
    }
  } catch (err) {
    if (isFinal(err) || err instanceof RangeError) throw err;
    if (err instanceof TypeError) throw invalid(source, err.message);
    throw err;
  }
  throw new TypeError(`private key input must be a string or Uint8Array, got ${describeType(input)}`);
}

function checkedScalarBytes(d: Uint8Array, source: string | undefined): Uint8Array {
  try {
    privateKeyToScalar(d);
  } catch (err) {
    if (err instanceof RangeError) throw new RangeError(`${prefix(source)}${err.message}`);
    throw err;
  }
  return d.slice();
}

function parseText(raw: string, source: string | undefined): Uint8Array {
  const text = raw.replace(/^\uFEFF/, '').replace(/^\xEF\xBB\xBF/, '');
  if (looksLikePem(text)) return parsePem(text, source);
  let hex = text.trim();
  if (hex.startsWith('0x') || hex.startsWith('0X')) hex = hex.slice(2);
  if (hex.length > 0 && isHex(hex)) {
    if (hex.length !== 64) throw invalid(source, `hex key has ${hex.length} characters, expected 64`);
    return checkedScalarBytes(Buffer.from(hex, 'hex'), source);
  }
  throw invalid(source, 'expected PEM, DER or 64 hex characters');
}

function parsePem(text: string, source: string | undefined): Uint8Array {
  const blocks = readPemBlocks(text);
  for (const b of blocks) {
    if (b.label === 'ENCRYPTED PRIVATE KEY' || /ENCRYPTED/i.test(b.headers['Proc-Type'] ?? '')) {
      throw finalTypeError(`${prefix(source)}${ENCRYPTED_HINT}`);
    }
  }
  const block = blocks.find((b) => PRIVATE_LABELS.has(b.label));
  if (block === undefined) {
    const other = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
    if (other !== undefined) {
      throw finalTypeError(`${prefix(source)}found a "${other.label}" PEM block; an SM2 private key is needed`);
    }
    const labels = blocks.map((b) => b.label).join(', ') || 'none';
    throw invalid(source, `no private key PEM block; found: ${labels}`);
  }
  return parseDer(decodePemBody(block), source);
}

function parseDer(der: Uint8Array, source: string | undefined): Uint8Array {
  const top = readTlv(der, 0);
  if (top.tag !== TAG_SEQUENCE) throw new TypeError('expected a SEQUENCE');
  if (top.end !== der.length) throw new TypeError('trailing bytes after the key');
  const kids = children(der, top);
  if (kids.length < 2) throw new TypeError('too few fields');
  if (kids[1].tag === TAG_SEQUENCE) return parsePkcs8(der, kids, source);
  if (kids[1].tag === TAG_OCTET_STRING) return parseSec1(der, kids, undefined, source);
  throw new TypeError('neither PKCS#8 nor SEC1 structure');
}

function readCurveParameter(der: Uint8Array, tlv: Tlv | undefined): Curve {
  if (tlv === undefined || tlv.tag === TAG_NULL) return undefined;
  if (tlv.tag === TAG_OID) return { kind: 'named', oid: decodeOid(der, tlv) };
  if (tlv.tag === TAG_SEQUENCE) return { kind: 'explicit' };
  throw new TypeError('unexpected curve parameters');
}

function parsePkcs8(der: Uint8Array, kids: Tlv[], source: string | undefined): Uint8Array {
  const version = readSmallInteger(der, kids[0]);
  if (version !== 0 && version !== 1) throw new TypeError(`unsupported PKCS#8 version ${version}`);
  const alg = children(der, kids[1]);
  if (alg.length < 1 || alg.length > 2) throw new TypeError('bad AlgorithmIdentifier');
  const algOid = decodeOid(der, alg[0]);
  let curve: Curve;
  if (algOid === OID_EC_PUBLIC_KEY) {
    curve = readCurveParameter(der, alg[1]);
  } else if (algOid === OID_SM2) {
    curve = readCurveParameter(der, alg[1]) ?? { kind: 'named', oid: OID_SM2 };
  } else {
    throw finalTypeError(
      `${prefix(source)}key algorithm is ${describeOid(algOid)}, not EC; an SM2 key (curve OID ${OID_SM2}) is needed`,
    );
  }
  const inner = kids[2];
  if (inner === undefined || inner.tag !== TAG_OCTET_STRING) throw new TypeError('missing privateKey OCTET STRING');
  const innerDer = der.subarray(inner.start, inner.end);
  const innerTop = readTlv(innerDer, 0);
  if (innerTop.tag !== TAG_SEQUENCE || innerTop.end !== innerDer.length) {
    throw new TypeError('inner ECPrivateKey is not a single SEQUENCE');
  }
  const innerKids = children(innerDer, innerTop);
  if (innerKids.length < 2 || innerKids[1].tag !== TAG_OCTET_STRING) throw new TypeError('bad inner ECPrivateKey');
  return parseSec1(innerDer, innerKids, curve, source);
}

function parseSec1(der: Uint8Array, kids: Tlv[], outerCurve: Curve, source: string | undefined): Uint8Array {
  const version = readSmallInteger(der, kids[0]);
  if (version !== 1) throw new TypeError(`unsupported ECPrivateKey version ${version}`);
  let innerCurve: Curve;
  let publicKeyBits: Tlv | undefined;
  for (const field of kids.slice(2)) {
    if (field.tag === TAG_CONTEXT_0 && innerCurve === undefined) {
      const param = readTlv(der, field.start, field.end);
      if (param.end !== field.end) throw new TypeError('bad [0] parameters');
      innerCurve = readCurveParameter(der, param);
    } else if (field.tag === TAG_CONTEXT_1 && publicKeyBits === undefined) {
      publicKeyBits = readTlv(der, field.start, field.end);
      if (publicKeyBits.tag !== TAG_BIT_STRING || publicKeyBits.end !== field.end) {
        throw new TypeError('bad [1] public key');
      }
    } else {
      throw new TypeError('unexpected field in ECPrivateKey');
    }
  }
  checkCurve(outerCurve, innerCurve, source);

  let dBytes = der.subarray(kids[1].start, kids[1].end);
  while (dBytes.length > 32 && dBytes[0] === 0) dBytes = dBytes.subarray(1);
  if (dBytes.length === 0 || dBytes.length > 32) throw new TypeError('private key field has a wrong length');
  const d = bytesToBigInt(dBytes);
  if (d < 1n || d > SM2_N - 2n) throw new RangeError(`${prefix(source)}private key is out of range [1, n-2]`);

  if (publicKeyBits !== undefined) {
    const stored = der.subarray(publicKeyBits.start, publicKeyBits.end);
    if (!storedPublicKeyMatches(stored, d)) {
      throw finalTypeError(`${prefix(source)}the public key stored in the key file does not match its private key`);
    }
  }
  return bigIntTo32Bytes(d);
}

function checkCurve(outer: Curve, inner: Curve, source: string | undefined): void {
  for (const c of [outer, inner]) {
    if (c?.kind === 'explicit') {
      throw finalTypeError(
        `${prefix(source)}explicit curve parameters are not supported; an SM2 key with named curve OID ${OID_SM2} is needed`,
      );
    }
    if (c !== undefined && c.oid !== OID_SM2) {
      throw finalTypeError(
        `${prefix(source)}key is on curve ${describeOid(c.oid)}; an SM2 key (curve OID ${OID_SM2}) is needed`,
      );
    }
  }
  if (outer === undefined && inner === undefined) {
    throw finalTypeError(`${prefix(source)}key does not name its curve; an SM2 key (curve OID ${OID_SM2}) is needed`);
  }
}

/** BIT STRING content (unused-bits byte, then the point) against d·G, compressed or not. */
function storedPublicKeyMatches(bitString: Uint8Array, d: bigint): boolean {
  if (bitString.length < 1 || bitString[0] !== 0) return false;
  const point = bitString.subarray(1);
  const ours = pointToPublicKey(Point.BASE.multiply(d));
  if (point.length === 65) return point[0] === 0x04 && equalBytes(point.subarray(1), ours);
  if (point.length === 33) {
    const prefixByte = (ours[63] & 1) === 0 ? 0x02 : 0x03;
    return point[0] === prefixByte && equalBytes(point.subarray(1), ours.subarray(0, 32));
  }
  return false;
}

const ALGORITHM_ID = encodeTlv(TAG_SEQUENCE, encodeOid(OID_EC_PUBLIC_KEY), encodeOid(OID_SM2));

function ecPrivateKeyDer(d: Uint8Array, publicKey: Uint8Array, withParameters: boolean): Uint8Array {
  const fields = [Uint8Array.of(0x02, 0x01, 0x01), encodeTlv(TAG_OCTET_STRING, d)];
  if (withParameters) fields.push(encodeTlv(TAG_CONTEXT_0, encodeOid(OID_SM2)));
  fields.push(encodeTlv(TAG_CONTEXT_1, encodeTlv(TAG_BIT_STRING, Uint8Array.of(0x00, 0x04), publicKey)));
  return encodeTlv(TAG_SEQUENCE, ...fields);
}

/**
 * PEM of an SM2 private key. 'pkcs8' (default) is byte-for-byte what `openssl genpkey
 * -algorithm SM2` writes; 'sec1' is an "EC PRIVATE KEY" with the SM2 curve OID, which OpenSSL,
 * TASSL and FISCO tooling read.
 */
export function privateKeyToPem(privateKey: Uint8Array, form: 'pkcs8' | 'sec1' = 'pkcs8'): string {
  const d = privateKeyToScalar(privateKey);
  const publicKey = pointToPublicKey(Point.BASE.multiply(d));
  const dBytes = bigIntTo32Bytes(d);
  if (form === 'sec1') return encodePem('EC PRIVATE KEY', ecPrivateKeyDer(dBytes, publicKey, true));
  if (form !== 'pkcs8') throw new TypeError(`form must be 'pkcs8' or 'sec1'`);
  const der = encodeTlv(
    TAG_SEQUENCE,
    Uint8Array.of(0x02, 0x01, 0x00),
    ALGORITHM_ID,
    encodeTlv(TAG_OCTET_STRING, ecPrivateKeyDer(dBytes, publicKey, false)),
  );
  return encodePem('PRIVATE KEY', der);
}
