import { readFileSync } from 'node:fs';
import {
  bytesToHex,
  generatePrivateKey,
  hexToBytes,
  isValidPublicKey,
  nodeIdOf,
  normalizePublicKey,
  parsePrivateKey,
  parsePublicKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  publicKeyToPem,
} from '../../src/sm2';
import { SM2_N } from '../../src/sm2/curve';
import { TempDir, openssl, opensslTextField } from '../fixtures/sm2/openssl';

const SAMPLE_D = '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8';
const SAMPLE_PUB =
  '09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
  'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13';
const SM2_OID_DER = '06082a811ccf5501822d';

let dir: TempDir;
// One OpenSSL-generated key in its various forms, plus keys OpenSSL made on other curves.
const k: Record<string, string> = {};
let dHex = '';
let pubHex = '';

function pem(args: string[]): string {
  return openssl(args).toString('latin1');
}

beforeAll(() => {
  dir = new TempDir();
  const keyPath = dir.file('k.pem');
  openssl(['genpkey', '-algorithm', 'SM2', '-out', keyPath]);
  k.pkcs8 = readFileSync(keyPath, 'latin1');
  k.sec1 = pem(['ec', '-in', keyPath]);
  k.pub = pem(['pkey', '-in', keyPath, '-pubout']);
  k.pubCompressed = pem(['ec', '-in', keyPath, '-pubout', '-conv_form', 'compressed']);
  k.encPkcs8 = pem(['pkey', '-in', keyPath, '-aes256', '-passout', 'pass:x']);
  k.encSec1 = pem(['ec', '-in', keyPath, '-aes256', '-passout', 'pass:x']);
  k.ecparam = pem(['ecparam', '-name', 'SM2', '-genkey']);
  k.p256 = pem(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);
  k.k1Sec1 = pem(['ecparam', '-name', 'secp256k1', '-genkey', '-noout']);
  k.p256Pub = pem(['pkey', '-pubout'].concat(['-in', dir.file('p256.pem', k.p256)]));
  k.ed25519 = pem(['genpkey', '-algorithm', 'ED25519']);
  const text = pem(['pkey', '-in', keyPath, '-text', '-noout']);
  dHex = opensslTextField(text, 'priv').padStart(64, '0');
  pubHex = opensslTextField(text, 'pub').slice(2);
});
afterAll(() => dir.remove());

/** Short-form DER TLV from hex content. */
function tlv(tag: string, contentHex: string): string {
  return tag + (contentHex.length / 2).toString(16).padStart(2, '0') + contentHex;
}

function derOf(pemText: string): Uint8Array {
  const body = pemText.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

function messageOf(f: () => unknown): { type: string; message: string } {
  try {
    f();
  } catch (err) {
    return { type: (err as Error).constructor.name, message: (err as Error).message };
  }
  throw new Error('expected a throw');
}

describe('parsePrivateKey on OpenSSL keys', () => {
  test('PKCS#8 from `openssl genpkey -algorithm SM2`; public key matches', () => {
    const d = parsePrivateKey(k.pkcs8);
    expect(bytesToHex(d)).toBe(dHex);
    expect(bytesToHex(publicKeyFromPrivateKey(d))).toBe(pubHex);
  });

  test('SEC1 from `openssl ec` ("SM2 PRIVATE KEY") and relabelled "EC PRIVATE KEY"', () => {
    expect(k.sec1).toContain('BEGIN SM2 PRIVATE KEY');
    expect(bytesToHex(parsePrivateKey(k.sec1))).toBe(dHex);
    expect(bytesToHex(parsePrivateKey(k.sec1.replace(/SM2 PRIVATE KEY/g, 'EC PRIVATE KEY')))).toBe(dHex);
  });

  test('DER of both, Buffers of PEM text, CRLF line ends', () => {
    expect(bytesToHex(parsePrivateKey(derOf(k.pkcs8)))).toBe(dHex);
    expect(bytesToHex(parsePrivateKey(derOf(k.sec1)))).toBe(dHex);
    expect(bytesToHex(parsePrivateKey(Buffer.from(k.pkcs8)))).toBe(dHex);
    expect(bytesToHex(parsePrivateKey(k.sec1.replace(/\n/g, '\r\n')))).toBe(dHex);
  });

  test('`openssl ecparam -genkey` output (parameters block first)', () => {
    expect(k.ecparam).toContain('PARAMETERS');
    const d = parsePrivateKey(k.ecparam);
    const text = pem(['pkey', '-in', dir.file('ecparam.pem', k.ecparam), '-text', '-noout']);
    expect(bytesToHex(d)).toBe(opensslTextField(text, 'priv').padStart(64, '0'));
  });

  test('hex forms and raw bytes', () => {
    for (const form of [dHex, dHex.toUpperCase(), `0x${dHex}`, `  ${dHex}\n`, `0X${dHex}\r\n`]) {
      expect(bytesToHex(parsePrivateKey(form))).toBe(dHex);
    }
    expect(bytesToHex(parsePrivateKey(Buffer.from(`${dHex}\n`)))).toBe(dHex);
    // Text whose first byte is '0' (0x30, the SEQUENCE tag) is still text.
    expect(bytesToHex(parsePrivateKey(Buffer.from(`0x${dHex}`)))).toBe(dHex);
    expect(bytesToHex(parsePrivateKey(Buffer.from(`\uFEFF${k.pkcs8}`)))).toBe(dHex);
    expect(bytesToHex(parsePrivateKey(hexToBytes(dHex)))).toBe(dHex);
  });

  test('SEC1 without an embedded public key; OpenSSL derives the published sample public key', () => {
    const der = hexToBytes(`30310201010420${SAMPLE_D}a00a${SM2_OID_DER}`);
    expect(bytesToHex(parsePrivateKey(der))).toBe(SAMPLE_D);
    const path = dir.file('nopub.der', der);
    const text = pem(['pkey', '-inform', 'DER', '-in', path, '-text', '-noout']);
    expect(opensslTextField(text, 'pub')).toBe('04' + SAMPLE_PUB);
  });

  test('PKCS#8 with algorithm OID 1.2.156.10197.1.301 itself', () => {
    const inner = tlv('30', `020101${tlv('04', SAMPLE_D)}`);
    for (const params of ['', '0500', SM2_OID_DER]) {
      const der = tlv('30', `020100${tlv('30', SM2_OID_DER + params)}${tlv('04', inner)}`);
      expect(bytesToHex(parsePrivateKey(hexToBytes(der)))).toBe(SAMPLE_D);
    }
  });
});

describe('parsePrivateKey errors', () => {
  test('another curve names the OID and asks for SM2', () => {
    const p256 = messageOf(() => parsePrivateKey(k.p256, 'p256.pem'));
    expect(p256.type).toBe('TypeError');
    expect(p256.message).toContain('1.2.840.10045.3.1.7');
    expect(p256.message).toContain('SM2');
    expect(p256.message).toContain('p256.pem');
    const k1 = messageOf(() => parsePrivateKey(k.k1Sec1));
    expect(k1.type).toBe('TypeError');
    expect(k1.message).toContain('1.3.132.0.10');
    const ed = messageOf(() => parsePrivateKey(k.ed25519));
    expect(ed.type).toBe('TypeError');
    expect(ed.message).toContain('1.3.101.112');
  });

  test('encrypted keys (PKCS#8 and traditional Proc-Type) are refused with a hint', () => {
    for (const enc of [k.encPkcs8, k.encSec1]) {
      const e = messageOf(() => parsePrivateKey(enc, '/etc/fisco/node.pem'));
      expect(e.type).toBe('TypeError');
      expect(e.message).toMatch(/encrypted/i);
      expect(e.message).toContain('openssl pkey');
      expect(e.message).toContain('/etc/fisco/node.pem');
    }
  });

  test('truncated or garbled PEM/DER → TypeError "not a valid SM2 private key"', () => {
    const lines = k.pkcs8.trimEnd().split('\n');
    const der = derOf(k.pkcs8);
    const bad: Array<string | Uint8Array> = [
      k.pkcs8.slice(0, k.pkcs8.length / 2),
      lines.slice(0, -1).join('\n'),
      [lines[0], lines[1], lines[lines.length - 1]].join('\n'),
      k.pkcs8.replace(lines[1], lines[1].slice(0, 10) + '*' + lines[1].slice(11)),
      der.subarray(0, der.length - 1),
      Uint8Array.of(...der, 0),
      '',
      'hello',
      dHex.slice(0, 62),
      `${dHex}00`,
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
      new Uint8Array(0),
    ];
    for (const input of bad) {
      const e = messageOf(() => parsePrivateKey(input, 'key.pem'));
      expect(e.type).toBe('TypeError');
      expect(e.message).toContain('not a valid SM2 private key');
      expect(e.message).toContain('key.pem');
    }
  });

  test('no error message contains the private key', () => {
    const der = derOf(k.sec1);
    const inputs: Array<string | Uint8Array> = [
      k.pkcs8.slice(0, 150),
      der.subarray(0, 40),
      dHex.slice(0, 62),
      `${dHex}ab`,
      `${dHex}zz`,
      hexToBytes(dHex).subarray(0, 31),
      k.encSec1,
    ];
    const dB64 = Buffer.from(dHex, 'hex').toString('base64');
    for (const input of inputs) {
      const { message } = messageOf(() => parsePrivateKey(input));
      expect(message.toLowerCase()).not.toContain(dHex.slice(0, 16));
      expect(message).not.toContain(dB64.slice(0, 16));
    }
    for (const f of [
      () => publicKeyFromPrivateKey(hexToBytes(dHex).subarray(1)),
      () => privateKeyToPem(new Uint8Array(33)),
    ]) {
      expect(messageOf(f).message.toLowerCase()).not.toContain(dHex.slice(0, 16));
    }
  });

  test('d out of [1, n-2] → RangeError', () => {
    for (const v of [0n, SM2_N - 1n, SM2_N, 2n ** 256n - 1n]) {
      const hex = v.toString(16).padStart(64, '0');
      expect(messageOf(() => parsePrivateKey(hex)).type).toBe('RangeError');
      expect(messageOf(() => parsePrivateKey(hexToBytes(`30310201010420${hex}a00a${SM2_OID_DER}`))).type).toBe(
        'RangeError',
      );
      expect(messageOf(() => publicKeyFromPrivateKey(hexToBytes(hex))).type).toBe('RangeError');
    }
    expect(bytesToHex(parsePrivateKey((SM2_N - 2n).toString(16)))).toBe((SM2_N - 2n).toString(16));
  });

  test('SEC1 whose public key does not match d → TypeError', () => {
    const der = derOf(k.sec1);
    const other = publicKeyFromPrivateKey(generatePrivateKey());
    const forged = der.slice();
    forged.set(other, der.length - 64);
    const e = messageOf(() => parsePrivateKey(forged));
    expect(e.type).toBe('TypeError');
    expect(e.message).toMatch(/does not match/);
  });

  test('argument types', () => {
    expect(() => parsePrivateKey(42 as unknown as string)).toThrow(TypeError);
    expect(() => parsePrivateKey(dHex, 7 as unknown as string)).toThrow(TypeError);
  });
});

describe('privateKeyToPem / publicKeyToPem', () => {
  test('PKCS#8 is byte-for-byte what OpenSSL writes; SEC1 matches `openssl ec` apart from the label', () => {
    const d = hexToBytes(dHex);
    expect(privateKeyToPem(d)).toBe(k.pkcs8);
    expect(privateKeyToPem(d, 'pkcs8')).toBe(k.pkcs8);
    const sec1 = privateKeyToPem(d, 'sec1');
    expect(sec1).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(derOf(sec1)).toEqual(derOf(k.sec1));
  });

  test('SPKI PEM is byte-for-byte what `openssl pkey -pubout` writes', () => {
    expect(publicKeyToPem(hexToBytes(pubHex))).toBe(k.pub);
    expect(publicKeyToPem(hexToBytes('04' + pubHex))).toBe(k.pub);
  });

  test('OpenSSL reads our PEMs back as SM2 with the same numbers', () => {
    const d = generatePrivateKey();
    const pub = publicKeyFromPrivateKey(d);
    for (const form of ['pkcs8', 'sec1'] as const) {
      const text = pem(['pkey', '-in', dir.file(`ours-${form}.pem`, privateKeyToPem(d, form)), '-text', '-noout']);
      expect(text).toContain('ASN1 OID: SM2');
      expect(opensslTextField(text, 'priv').padStart(64, '0')).toBe(bytesToHex(d));
      expect(opensslTextField(text, 'pub')).toBe('04' + bytesToHex(pub));
    }
    const pubText = pem(['pkey', '-pubin', '-in', dir.file('ours-pub.pem', publicKeyToPem(pub)), '-text', '-noout']);
    expect(pubText).toContain('ASN1 OID: SM2');
    expect(opensslTextField(pubText, 'pub')).toBe('04' + bytesToHex(pub));
  });

  test('round trip through parsePrivateKey', () => {
    const d = generatePrivateKey();
    expect(parsePrivateKey(privateKeyToPem(d))).toEqual(d);
    expect(parsePrivateKey(privateKeyToPem(d, 'sec1'))).toEqual(d);
  });

  test('bad arguments', () => {
    expect(() => privateKeyToPem(new Uint8Array(31))).toThrow(TypeError);
    expect(() => privateKeyToPem(new Uint8Array(32))).toThrow(RangeError);
    expect(() => privateKeyToPem(generatePrivateKey(), 'der' as 'sec1')).toThrow(TypeError);
    expect(() => publicKeyToPem(new Uint8Array(64))).toThrow(TypeError);
  });
});

describe('parsePublicKey', () => {
  test('PEM, DER, compressed SPKI, raw and hex forms give the same 64 bytes', () => {
    const raw = hexToBytes(pubHex);
    const forms: Array<string | Uint8Array> = [
      k.pub,
      derOf(k.pub),
      Buffer.from(k.pub),
      k.pubCompressed,
      raw,
      Uint8Array.of(4, ...raw),
      pubHex,
      `04${pubHex}`,
      `0x04${pubHex.toUpperCase()}\n`,
      derOf(k.pubCompressed).subarray(-33),
      Buffer.from(`0x04${pubHex}`),
      Buffer.from(`\uFEFF${k.pub}`),
    ];
    for (const f of forms) expect(bytesToHex(parsePublicKey(f))).toBe(pubHex);
  });

  test('errors are TypeErrors; another curve is named', () => {
    const p256 = messageOf(() => parsePublicKey(k.p256Pub));
    expect(p256.type).toBe('TypeError');
    expect(p256.message).toContain('1.2.840.10045.3.1.7');
    const offCurve = hexToBytes(pubHex);
    offCurve[63] ^= 1;
    for (const bad of [offCurve, new Uint8Array(64), 'zz', k.pkcs8, k.pub.slice(0, 60), `05${pubHex}`]) {
      expect(messageOf(() => parsePublicKey(bad)).type).toBe('TypeError');
    }
  });
});

describe('key helpers', () => {
  test('generatePrivateKey: 32 bytes, in range, distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const d = generatePrivateKey();
      expect(d).toHaveLength(32);
      const v = BigInt('0x' + bytesToHex(d));
      expect(v >= 1n && v <= SM2_N - 2n).toBe(true);
      seen.add(bytesToHex(d));
    }
    expect(seen.size).toBe(20);
  });

  test('publicKeyFromPrivateKey argument checks', () => {
    expect(() => publicKeyFromPrivateKey(new Uint8Array(31))).toThrow(TypeError);
    expect(() => publicKeyFromPrivateKey('00' as unknown as Uint8Array)).toThrow(TypeError);
    expect(bytesToHex(publicKeyFromPrivateKey(Buffer.from(SAMPLE_D, 'hex')))).toBe(SAMPLE_PUB);
  });

  test('isValidPublicKey / normalizePublicKey / nodeIdOf', () => {
    const pub = hexToBytes(SAMPLE_PUB);
    const with04 = Uint8Array.of(4, ...pub);
    expect(isValidPublicKey(pub)).toBe(true);
    expect(isValidPublicKey(with04)).toBe(true);
    expect(isValidPublicKey(Uint8Array.of(2, ...pub))).toBe(false);
    expect(isValidPublicKey(pub.subarray(1))).toBe(false);
    expect(isValidPublicKey(new Uint8Array(64))).toBe(false);
    const off = pub.slice();
    off[10] ^= 0x40;
    expect(isValidPublicKey(off)).toBe(false);
    // x = p is out of the field even if it were "on the curve" mod p.
    expect(isValidPublicKey(hexToBytes('ff'.repeat(64)))).toBe(false);
    expect(normalizePublicKey(with04)).toEqual(pub);
    expect(normalizePublicKey(pub)).toEqual(pub);
    expect(() => normalizePublicKey(off)).toThrow(TypeError);
    expect(() => normalizePublicKey(new Uint8Array(63))).toThrow(TypeError);
    expect(() => isValidPublicKey('x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(nodeIdOf(with04)).toBe(SAMPLE_PUB);
    expect(nodeIdOf(pub)).toMatch(/^[0-9a-f]{128}$/);
    expect(() => nodeIdOf(off)).toThrow(TypeError);
  });
});

test('a PEM squeezed onto one line (as in an environment variable) still parses', () => {
  const oneLine = k.pkcs8.trim().split('\n').join(' ');
  expect(bytesToHex(parsePrivateKey(oneLine))).toBe(dHex);
});
