/**
 * The PKCS#11 signer against a real module, SoftHSMv2, with a token and keys the test makes:
 * signatures checked by node:crypto and noble, key lookup, typed errors, the pool under load.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { p256 } from '@noble/curves/p256';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ed25519 } from '@noble/curves/ed25519';
import { Pkcs11Error, Pkcs11Module } from '../../src/pkcs11';
import { createSigner, Pkcs11Signer, type Signer } from '../../src/signer';
import { SIGNER_DISPATCHES } from '../helpers/mock-card';
import { SOFTHSM_MODULE, SoftHsmToken } from '../helpers/softhsm';

const token = new SoftHsmToken();
const base = { library: SOFTHSM_MODULE, tokenLabel: token.label, pin: token.pin };

beforeAll(() => {
  token.generate('EC:prime256v1', 'p256', '01');
  token.generate('EC:secp256k1', 'k256', '02');
  token.generate('EC:edwards25519', 'ed', '03');
  token.generate('EC:prime256v1', 'twin', '04');
  token.generate('EC:prime256v1', 'twin', '05');
});
afterAll(() => token.remove());

async function withSigner<T>(settings: object, use: (signer: Pkcs11Signer) => Promise<T>, opts = {}): Promise<T> {
  const signer = await Pkcs11Signer.open({ ...base, ...settings }, opts);
  try {
    return await use(signer);
  } finally {
    await signer.close();
  }
}

/** node:crypto's view of a public key (x‖y, or the Ed25519 point), as SPKI via JWK. */
function nodeKey(signer: Signer) {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  if (signer.algorithm === 'ed25519')
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(signer.publicKey) }, format: 'jwk' });
  const crv = signer.algorithm === 'ecdsa-p256' ? 'P-256' : 'secp256k1';
  const [x, y] = [signer.publicKey.subarray(0, 32), signer.publicKey.subarray(32)];
  return createPublicKey({ key: { kty: 'EC', crv, x: b64(x), y: b64(y) }, format: 'jwk' });
}

describe('signatures from SoftHSM, checked by node:crypto and noble', () => {
  const message = Buffer.from('transaction 42');

  it('ECDSA P-256 over SHA-256', async () => {
    await withSigner({ keyLabel: 'p256' }, async (signer) => {
      expect(signer).toMatchObject({ backend: 'pkcs11', algorithm: 'ecdsa-p256' });
      const signature = await signer.sign(message);
      expect(signature).toHaveLength(64);
      expect(nodeVerify('sha256', message, { key: nodeKey(signer), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
      const digest = createHash('sha256').update(message).digest();
      expect(p256.verify(signature, digest, Buffer.concat([Buffer.from([4]), signer.publicKey]), { lowS: false })).toBe(
        true,
      );
      expect(await signer.verify(message, signature)).toBe(true);
      expect(await signer.verify(Buffer.from('other'), signature)).toBe(false);
    });
  });

  it('ECDSA secp256k1, always low-S, over SHA-256 or Keccak-256', async () => {
    await withSigner({ keyLabel: 'k256' }, async (signer) => {
      expect(signer.algorithm).toBe('ecdsa-secp256k1');
      const point = Buffer.concat([Buffer.from([4]), signer.publicKey]);
      for (let i = 0; i < 40; i++) {
        const m = Buffer.from(`low-S ${i}`);
        const signature = await signer.sign(m);
        // noble's default verification refuses high-S signatures
        expect(secp256k1.verify(signature, createHash('sha256').update(m).digest(), point)).toBe(true);
      }
      const keccak = await signer.sign(message, { hash: 'keccak256' });
      expect(await signer.verify(message, keccak, { hash: 'keccak256' })).toBe(true);
      expect(await signer.verify(message, keccak)).toBe(false);
      expect(
        nodeVerify('sha256', message, { key: nodeKey(signer), dsaEncoding: 'ieee-p1363' }, await signer.sign(message)),
      ).toBe(true);
    });
  });

  it('P-256 signatures normalised to low-S when asked (lowS, as Fabric requires)', async () => {
    await withSigner(
      { keyLabel: 'p256' },
      async (signer) => {
        const half = p256.CURVE.n / 2n;
        for (let i = 0; i < 40; i++) {
          const signature = await signer.sign(Buffer.from(`fabric ${i}`));
          expect(BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`) <= half).toBe(true);
          expect(await signer.verify(Buffer.from(`fabric ${i}`), signature)).toBe(true);
        }
      },
      { lowS: true },
    );
  });

  it('Ed25519 over the message itself', async () => {
    await withSigner({ keyLabel: 'ed' }, async (signer) => {
      expect(signer.algorithm).toBe('ed25519');
      expect(signer.publicKey).toHaveLength(32);
      const signature = await signer.sign(message);
      expect(nodeVerify(null, message, nodeKey(signer), signature)).toBe(true);
      expect(ed25519.verify(signature, message, signer.publicKey)).toBe(true);
      await expect(signer.signDigest(new Uint8Array(32))).rejects.toThrow(/Ed25519 key signs messages/);
    });
  });
});

describe('finding the key', () => {
  it('by id, and by the SHA-256 of its public point (Fabric SKI)', async () => {
    const byLabel = await withSigner({ keyLabel: 'p256' }, async (signer) => signer.publicKey);
    const byId = await withSigner({ keyId: '01' }, async (signer) => signer.publicKey);
    expect(byId).toEqual(byLabel);
    const ski = createHash('sha256')
      .update(Buffer.concat([Buffer.from([4]), byLabel]))
      .digest('hex');
    expect(await withSigner({ keyId: ski }, async (signer) => signer.publicKey)).toEqual(byLabel);
  });

  it('fails with the count when no key or several keys match', async () => {
    await expect(Pkcs11Signer.open({ ...base, keyLabel: 'nothing' })).rejects.toMatchObject({
      code: 'PKCS11_KEY_NOT_FOUND',
      count: 0,
    });
    await expect(Pkcs11Signer.open({ ...base, keyLabel: 'twin' })).rejects.toMatchObject({
      code: 'PKCS11_KEY_AMBIGUOUS',
      count: 2,
      message: expect.stringMatching(/2 private keys with label "twin"/),
    });
    expect(await withSigner({ keyLabel: 'twin', keyId: '05' }, async (signer) => signer.algorithm)).toBe('ecdsa-p256');
  });

  it('names an unknown token and refuses a wrong PIN with CKR_PIN_INCORRECT, never showing the PIN', async () => {
    await expect(Pkcs11Signer.open({ ...base, tokenLabel: 'no such token', keyLabel: 'p256' })).rejects.toMatchObject({
      code: 'PKCS11_TOKEN_NOT_FOUND',
      message: expect.stringContaining(`"${token.label}"`),
    });
    const wrong = 'wrong#PIN:9';
    const error = await Pkcs11Signer.open({ ...base, pin: wrong, keyLabel: 'p256' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Pkcs11Error);
    expect(error).toMatchObject({ fn: 'C_Login', codeName: 'CKR_PIN_INCORRECT' });
    expect(`${(error as Error).message} ${inspect(error, { showHidden: true })}`).not.toContain(wrong);
  });
});

describe.each(SIGNER_DISPATCHES)('the sessions, %s', (_, dispatch) => {
  it('signs 1,000 messages at once, every signature valid', async () => {
    await withSigner(
      { keyLabel: 'p256' },
      async (signer) => {
        expect(signer.sessions).toBe(4);
        const messages = Array.from({ length: 1000 }, (_, i) => Buffer.from(`pooled ${i}`));
        const signatures = await Promise.all(messages.map((m) => signer.sign(m)));
        const key = nodeKey(signer);
        signatures.forEach((signature, i) => {
          expect(nodeVerify('sha256', messages[i], { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
        });
      },
      dispatch(4),
    );
  });

  it('lets every sign in flight finish when close() is called, for every caller of close()', async () => {
    const signer = await Pkcs11Signer.open({ ...base, keyLabel: 'p256' }, dispatch(2));
    const signs = Array.from({ length: 50 }, (_, i) => signer.sign(Buffer.from(`closing ${i}`)));
    await Promise.all([signer.close(), signer.close()]);
    const results = await Promise.all(signs);
    for (const signature of results) expect(signature).toHaveLength(64);
    await expect(signer.sign(Buffer.from('after'))).rejects.toMatchObject({ code: 'SIGNER_CLOSED' });
  });
});

describe('the module', () => {
  it('finalises the module once the last user closes, and can open it again', async () => {
    const first = await Pkcs11Module.open(SOFTHSM_MODULE);
    const second = await Pkcs11Module.open(SOFTHSM_MODULE);
    expect((await first.info()).cryptokiVersion).toMatch(/^2\.|^3\./);
    await first.close();
    expect((await second.slots()).length).toBeGreaterThan(0);
    await second.close();
    const again = await Pkcs11Module.open(SOFTHSM_MODULE);
    expect((await again.tokenInfo(await again.findSlot({ tokenLabel: token.label }))).label).toBe(token.label);
    await again.close();
  });
});

describe('the loaded module', () => {
  it('stays loaded while function pointers from it can be called, whatever the garbage collector does', () => {
    const script = `
      const { Pkcs11Signer } = require(${JSON.stringify(join(__dirname, '../../dist/index.js'))});
      (async () => {
        const signer = await Pkcs11Signer.open(${JSON.stringify({ ...base, keyLabel: 'p256' })});
        for (let i = 0; i < 5; i++) {
          globalThis.gc();
          await new Promise((resolve) => setImmediate(resolve));
        }
        const signature = await signer.sign(Buffer.from('after gc'));
        console.log(signature.length, await signer.verify(Buffer.from('after gc'), signature));
        await signer.close();
      })();`;
    const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: process.env });
    expect({ status: run.status, signal: run.signal, out: run.stdout.trim() }).toEqual({
      status: 0,
      signal: null,
      out: '64 true',
    });
  });
});

describe('createSigner with a PKCS#11 config', () => {
  it('picks the PKCS#11 backend from pkcs11_library, with the PIN from the config', async () => {
    const signer = await createSigner({
      enableHsm: false,
      hsmLibPath: '',
      privateKeyPath: '',
      password: token.pin,
      pkcs11: { library: SOFTHSM_MODULE, tokenLabel: token.label, keyLabel: 'k256' },
    });
    try {
      expect(signer).toMatchObject({ backend: 'pkcs11', algorithm: 'ecdsa-secp256k1' });
      expect(inspect(signer, { showHidden: true, customInspect: false, getters: true, depth: 6 })).not.toContain(
        token.pin,
      );
    } finally {
      await signer.close();
    }
  });
});

it('loads a second copy of the binding in one process (koffi types are process-wide)', () => {
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(() => require('../../src/pkcs11/functions')).not.toThrow();
  });
});
