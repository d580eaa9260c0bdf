import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, loadSecurityConfig, parseSecurityConfig } from '../src/config';
import { SdfBindingError, SdfError } from '../src/sdf';
import { createSigner, SoftwareSigner } from '../src/signer';
import {
  bytesToHex,
  fromFiscoSignature,
  generatePrivateKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  signatureFromDer,
  signatureToDer,
  sm2Sign,
  sm2Verify,
  SM2_N,
} from '../src/sm2';
import { MOCK_LIB, TempKeystore } from './helpers/mock-card';

/**
 * Bad input of every kind a user can give: each case names the error it must give (type and
 * code), or `false` from a verification, and no case may show a secret in its message.
 */
const PASSWORD = 'S3cr3t#;pw';
const privateKey = generatePrivateKey();
const PRIVATE_HEX = bytesToHex(privateKey);
const publicKey = publicKeyFromPrivateKey(privateKey);
const work = mkdtempSync(join(tmpdir(), 'gmt0018-bad-input-'));
const keystore = new TempKeystore();
keystore.import(1, PASSWORD, privateKey);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  keystore.remove();
});

function file(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

function openssl(args: string[]): Buffer {
  return execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'pipe', 'ignore'] });
}

function security(lines: string): string {
  return `[security]\n${lines}\n`;
}

function expectNoSecret(error: unknown): void {
  for (const text of [(error as Error).message, inspect(error), JSON.stringify(error)]) {
    expect(text).not.toContain(PASSWORD);
    expect(text.toLowerCase()).not.toContain(PRIVATE_HEX);
  }
}

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

type ErrorClass = new (...args: never[]) => Error;
interface ErrorCase {
  name: string;
  run: () => unknown;
  type: ErrorClass;
  code?: string | number;
  mentions?: string;
}

const hsmLines = (lib: string) => `enable_hsm=true\nhsm_lib_path=${lib}\nkey_index=1\npassword=${PASSWORD}`;

const configCases: ErrorCase[] = [
  {
    name: 'no [security] section',
    run: () => parseSecurityConfig('[p2p]\nlisten_port=30300\n'),
    type: ConfigError,
    code: 'CONFIG_MISSING_SECTION',
  },
  {
    name: 'HSM on without key_index',
    run: () => parseSecurityConfig(security(`enable_hsm=true\npassword=${PASSWORD}`)),
    type: ConfigError,
    code: 'CONFIG_MISSING_KEY',
    mentions: 'key_index',
  },
  {
    name: 'duplicate password key',
    run: () => parseSecurityConfig(security(`password=${PASSWORD}\npassword=${PASSWORD}2`)),
    type: ConfigError,
    code: 'CONFIG_DUPLICATE_KEY',
    mentions: 'password',
  },
  {
    name: 'duplicate section',
    run: () => parseSecurityConfig('[security]\nenable_hsm=false\n[security]\nkey_index=1\n'),
    type: ConfigError,
    code: 'CONFIG_DUPLICATE_SECTION',
  },
  {
    name: 'enable_hsm=TRUE',
    run: () => parseSecurityConfig(security('enable_hsm=TRUE')),
    type: ConfigError,
    code: 'CONFIG_BAD_BOOLEAN',
    mentions: 'enable_hsm',
  },
  {
    name: 'enable_hsm=yes',
    run: () => parseSecurityConfig(security('enable_hsm=yes')),
    type: ConfigError,
    code: 'CONFIG_BAD_BOOLEAN',
  },
  {
    name: 'non-numeric key_index',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=abc')),
    type: ConfigError,
    code: 'CONFIG_BAD_INTEGER',
    mentions: 'key_index',
  },
  {
    name: 'fractional key_index',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=4.3')),
    type: ConfigError,
    code: 'CONFIG_BAD_INTEGER',
  },
  {
    name: 'hex key_index',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=0x2b')),
    type: ConfigError,
    code: 'CONFIG_BAD_INTEGER',
  },
  {
    name: 'negative key_index',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=-1')),
    type: ConfigError,
    code: 'CONFIG_OUT_OF_RANGE',
  },
  {
    name: 'key_index beyond a C int',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=99999999999')),
    type: ConfigError,
    code: 'CONFIG_OUT_OF_RANGE',
  },
  {
    name: 'key_index and key_id both',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=1\nkey_id=2')),
    type: ConfigError,
    code: 'CONFIG_CONFLICT',
  },
  {
    name: 'bad enc_key_index',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_index=1\nenc_key_index=one')),
    type: ConfigError,
    code: 'CONFIG_BAD_INTEGER',
    mentions: 'enc_key_index',
  },
  {
    name: 'kms_type=CLOUDKMS',
    run: () => parseSecurityConfig(security('kms_type=CLOUDKMS')),
    type: ConfigError,
    code: 'CONFIG_UNSUPPORTED',
  },
  {
    name: 'kms_type with an inline comment',
    run: () => parseSecurityConfig(security('kms_type=HSM ; card')),
    type: ConfigError,
    code: 'CONFIG_BAD_VALUE',
  },
  {
    name: 'a line without =',
    run: () => parseSecurityConfig(security(`password ${PASSWORD}`)),
    type: ConfigError,
    code: 'CONFIG_SYNTAX',
  },
  {
    name: 'an empty key',
    run: () => parseSecurityConfig(security(`=${PASSWORD}`)),
    type: ConfigError,
    code: 'CONFIG_SYNTAX',
  },
  {
    name: 'kms_type=BCOSKMS',
    run: () => parseSecurityConfig(security('kms_type=BCOSKMS')),
    type: ConfigError,
    code: 'CONFIG_UNSUPPORTED',
  },
  {
    name: 'an empty enable_hsm',
    run: () => parseSecurityConfig(security('enable_hsm=')),
    type: ConfigError,
    code: 'CONFIG_BAD_BOOLEAN',
  },
  {
    name: 'an unterminated section header',
    run: () => parseSecurityConfig(`[security\npassword=${PASSWORD}\n`),
    type: ConfigError,
    code: 'CONFIG_SYNTAX',
  },
  {
    name: 'non-numeric key_id',
    run: () => parseSecurityConfig(security('enable_hsm=true\nkey_id=first')),
    type: ConfigError,
    code: 'CONFIG_BAD_INTEGER',
    mentions: 'key_id',
  },
  {
    name: 'missing config file',
    run: () => loadSecurityConfig(join(work, 'nope', 'config.ini')),
    type: ConfigError,
    code: 'CONFIG_FILE_UNREADABLE',
    mentions: 'nope',
  },
  {
    name: 'a folder as config file',
    run: () => loadSecurityConfig(work),
    type: ConfigError,
    code: 'CONFIG_FILE_UNREADABLE',
  },
];

const keyFileCases: ErrorCase[] = [
  {
    name: 'missing key file',
    run: () => SoftwareSigner.fromKeyFile(join(work, 'absent.pem')),
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
    mentions: 'absent.pem',
  },
  {
    name: 'empty key file',
    run: () => SoftwareSigner.fromKeyFile(file('empty.pem', '')),
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
  },
  {
    name: 'truncated PEM',
    run: () => SoftwareSigner.fromKeyFile(file('truncated.pem', privateKeyToPem(privateKey).slice(0, 90))),
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
  },
  {
    name: 'PEM with a garbled body',
    run: () =>
      SoftwareSigner.fromKeyFile(file('garbled.pem', privateKeyToPem(privateKey).replace(/[A-Za-z]{8}/, '********'))),
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
  },
  {
    name: 'a P-256 key, not SM2',
    run: () => {
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'p256.pem']);
      return SoftwareSigner.fromKeyFile(join(work, 'p256.pem'));
    },
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
    mentions: '1.2.840.10045.3.1.7',
  },
  {
    name: 'an encrypted PEM',
    run: () => {
      writeFileSync(join(work, 'plain.pem'), privateKeyToPem(privateKey));
      openssl(['pkcs8', '-topk8', '-in', 'plain.pem', '-v2', 'aes-256-cbc', '-passout', 'pass:x', '-out', 'enc.pem']);
      return SoftwareSigner.fromKeyFile(join(work, 'enc.pem'));
    },
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
    mentions: 'encrypted',
  },
  {
    name: 'hex key of 31 bytes',
    run: () => SoftwareSigner.fromKeyFile(file('short.hex', PRIVATE_HEX.slice(0, 62))),
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
  },
  {
    name: 'hex key equal to n',
    run: () => SoftwareSigner.fromKeyFile(file('n.hex', SM2_N.toString(16))),
    type: ConfigError,
    code: 'CONFIG_KEY_FILE',
  },
];

function halfLibrary(): string {
  // Opens and closes like a card but cannot sign: a vendor library missing half the functions.
  const source = file(
    'half.c',
    `static int device, session;
int SDF_OpenDevice(void **h) { *h = &device; return 0; }
int SDF_CloseDevice(void *h) { (void)h; return 0; }
int SDF_OpenSession(void *d, void **s) { (void)d; *s = &session; return 0; }
int SDF_CloseSession(void *s) { (void)s; return 0; }
`,
  );
  const path = join(work, 'libhalf.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', path, source]);
  return path;
}

const libraryCases: ErrorCase[] = [
  {
    name: 'missing library',
    run: () => createSigner(parseSecurityConfig(security(hsmLines(join(work, 'none.so'))))),
    type: SdfBindingError,
    code: 'SDF_LIBRARY_NOT_FOUND',
    mentions: 'none.so',
  },
  {
    name: 'library path is a folder',
    run: () => createSigner(parseSecurityConfig(security(hsmLines(work)))),
    type: SdfBindingError,
    code: 'SDF_LIBRARY_NOT_FOUND',
  },
  {
    name: 'not a shared object',
    run: () => createSigner(parseSecurityConfig(security(hsmLines(file('text.so', 'hello'))))),
    type: SdfBindingError,
    code: 'SDF_LIBRARY_LOAD_FAILED',
  },
  {
    name: 'library without the signing functions',
    run: () => createSigner(parseSecurityConfig(security(hsmLines(halfLibrary())))),
    type: SdfBindingError,
    code: 'SDF_SYMBOL_MISSING',
    mentions: 'SDF_InternalSign_ECC',
  },
  {
    name: 'wrong password',
    run: () => createSigner(parseSecurityConfig(security(hsmLines(MOCK_LIB).replace(PASSWORD, `${PASSWORD}x`)))),
    type: SdfError,
    code: 'SDR_PARDENY',
  },
  {
    name: 'unknown key index',
    run: () => createSigner(parseSecurityConfig(security(hsmLines(MOCK_LIB).replace('key_index=1', 'key_index=42')))),
    type: SdfError,
    code: 'SDR_KEYNOTEXIST',
    mentions: 'key index 42',
  },
];

const signer = SoftwareSigner.fromPrivateKey(privateKey);
const argumentCases: ErrorCase[] = [
  { name: 'signDigest with 31 bytes', run: () => signer.signDigest(new Uint8Array(31)), type: RangeError },
  { name: 'sign with a string message', run: () => signer.sign('text' as unknown as Uint8Array), type: TypeError },
  {
    name: 'DER signature with trailing bytes',
    run: () =>
      signatureFromDer(Buffer.concat([signatureToDer(sm2Sign(privateKey, Buffer.from('m'))), Buffer.from([0])])),
    type: TypeError,
  },
  {
    name: 'an empty DER signature',
    run: () => signatureFromDer(new Uint8Array(0)),
    type: TypeError,
  },
  {
    name: 'a FISCO signature of 127 bytes',
    run: () => fromFiscoSignature(new Uint8Array(127)),
    type: TypeError,
  },
  {
    name: 'DER that is not a SEQUENCE',
    run: () => signatureFromDer(Buffer.from('0201010201ff', 'hex')),
    type: TypeError,
  },
  {
    name: 'sm2Verify with a string signature',
    run: () => sm2Verify(publicKey, Buffer.from('m'), 'sig' as unknown as Uint8Array),
    type: TypeError,
  },
];

describe.each([
  ['config.ini', configCases],
  ['key files', keyFileCases],
  ['library paths and the card', libraryCases],
  ['arguments', argumentCases],
])('bad %s', (_group, cases) => {
  it.each(cases.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const error = await caught((c as ErrorCase).run);
    const { type, code, mentions } = c as ErrorCase;
    expect(error).toBeInstanceOf(type);
    if (code !== undefined) {
      const actual = error instanceof SdfError ? error.codeName : (error as { code?: unknown }).code;
      expect(actual).toBe(code);
    }
    if (mentions !== undefined) expect((error as Error).message).toContain(mentions);
    expectNoSecret(error);
  });
});

describe('bad signatures and keys verify as false, never throw', () => {
  const message = Buffer.from('payload');
  const good = sm2Sign(privateKey, message);
  const n = Buffer.from(SM2_N.toString(16).padStart(64, '0'), 'hex');
  const withR = (r: Uint8Array) => Uint8Array.from([...r, ...good.subarray(32)]);
  const withS = (s: Uint8Array) => Uint8Array.from([...good.subarray(0, 32), ...s]);
  const offCurve = Uint8Array.from(publicKey);
  offCurve[63] ^= 1;

  it.each([
    ['r = 0', () => sm2Verify(publicKey, message, withR(new Uint8Array(32)))],
    ['s = 0', () => sm2Verify(publicKey, message, withS(new Uint8Array(32)))],
    ['r = n', () => sm2Verify(publicKey, message, withR(n))],
    ['s = n', () => sm2Verify(publicKey, message, withS(n))],
    ['r = s = 0xff…', () => sm2Verify(publicKey, message, new Uint8Array(64).fill(0xff))],
    ['a 63-byte signature', () => sm2Verify(publicKey, message, good.subarray(0, 63))],
    ['a 65-byte signature', () => sm2Verify(publicKey, message, Uint8Array.from([...good, 0]))],
    ['an empty signature', () => sm2Verify(publicKey, message, new Uint8Array(0))],
    ['a public key off the curve', () => sm2Verify(offCurve, message, good)],
    ['a 63-byte public key', () => sm2Verify(publicKey.subarray(1), message, good)],
    ['an all-zero public key', () => sm2Verify(new Uint8Array(64), message, good)],
    ['another user ID', () => sm2Verify(publicKey, message, good, { userId: 'someone else' })],
  ])('%s', (_name, verify) => {
    expect(verify()).toBe(false);
  });

  it('signs and verifies an empty and a 4 MiB message', () => {
    for (const data of [new Uint8Array(0), new Uint8Array(4 * 1024 * 1024).fill(7)]) {
      const signature = sm2Sign(privateKey, data);
      expect(sm2Verify(publicKey, data, signature)).toBe(true);
      expect(sm2Verify(publicKey, data.length ? data.subarray(1) : new Uint8Array([0]), signature)).toBe(false);
    }
  });
});

describe('nothing left behind', () => {
  it('a failed HSM signer leaves no session or device open', async () => {
    const { mockControl } = await import('./helpers/mock-card');
    const before = mockControl().counters();
    await caught(() => createSigner(parseSecurityConfig(security(hsmLines(MOCK_LIB).replace(PASSWORD, 'nope')))));
    const after = mockControl().counters();
    expect(after.openSessions).toBe(before.openSessions);
    expect(after.openDevices).toBe(before.openDevices);
  });
});
