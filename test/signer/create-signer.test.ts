import { inspect } from 'node:util';
import { ConfigError } from '../../src/config';
import { SdfBindingError, SdfError } from '../../src/sdf';
import { createSigner, HsmSigner, SignerClosedError, type Signer } from '../../src/signer';
import {
  generatePrivateKey,
  nodeIdOf,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2Verify,
  sm2VerifyDigest,
} from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { NodeFolders } from '../helpers/node-config';

const PASSWORD = 'Pa#ss;w0rd x';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);

beforeAll(() => {
  keystore.import(3, PASSWORD, privateKey);
});

afterAll(() => {
  keystore.remove();
  nodes.removeAll();
});

const nodes = new NodeFolders(privateKey);
const node = (security: string, crlf = false) => nodes.config(security, crlf);

function hsmSecurity(extra: { password?: string; keyIndex?: number; lib?: string } = {}): string {
  return `
    ; FISCO 3.13+ spelling of enable_hsm=true
    kms_type=HSM
    private_key_path=conf/node.pem
    hsm_lib_path=${extra.lib ?? MOCK_LIB}
    key_index=${extra.keyIndex ?? 3}
    password=${extra.password ?? PASSWORD}`;
}

async function withSigner<T>(configPath: string, use: (signer: Signer) => Promise<T>): Promise<T> {
  const signer = await createSigner(configPath);
  try {
    return await use(signer);
  } finally {
    await signer.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error) => error,
  );
}

describe('createSigner picks the backend from [security]', () => {
  it('enable_hsm=false signs in software with conf/node.pem', async () => {
    await withSigner(node('enable_hsm=false\nprivate_key_path=conf/node.pem'), async (signer) => {
      expect(signer.backend).toBe('software');
      expect(signer.publicKey).toEqual(publicKey);
      const message = Buffer.from('block 42');
      expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
    });
  });

  it('enable_hsm=true signs inside the mock card with the same key, same public key and node ID', async () => {
    const security = `enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=3\npassword=${PASSWORD}`;
    await withSigner(node(security), async (signer) => {
      expect(signer.backend).toBe('hsm');
      expect(signer.publicKey).toEqual(publicKey);
      expect(signer.nodeId).toBe(nodeIdOf(publicKey));
      const message = Buffer.from('block 42');
      const signature = await signer.sign(message);
      expect(sm2Verify(publicKey, message, signature)).toBe(true);
      const software = await createSigner(node('enable_hsm=false\nprivate_key_path=conf/node.pem'));
      try {
        expect(software.nodeId).toBe(signer.nodeId);
        expect(await software.verify(message, signature)).toBe(true);
        expect(await signer.verify(message, await software.sign(message))).toBe(true);
      } finally {
        await software.close();
      }
    });
  });

  it.each([
    ['LF', false],
    ['CRLF', true],
  ])(
    'a full FISCO config.ini (%s) with kms_type=HSM and a password holding #, ; and a space signs through the mock',
    async (_name, crlf) => {
      await withSigner(node(hsmSecurity(), crlf as boolean), async (signer) => {
        expect(signer.backend).toBe('hsm');
        const digest = sm2Digest(publicKey, Buffer.from('tx'));
        expect(sm2VerifyDigest(publicKey, digest, await signer.signDigest(digest))).toBe(true);
      });
    },
  );

  it('signs with another user ID when asked, and verifies only with that ID', async () => {
    await withSigner(node(hsmSecurity()), async (signer) => {
      const message = Buffer.from('with an ID');
      const signature = await signer.sign(message, { userId: 'ALICE123@YAHOO.COM' });
      expect(await signer.verify(message, signature, { userId: 'ALICE123@YAHOO.COM' })).toBe(true);
      expect(await signer.verify(message, signature)).toBe(false);
    });
  });
});

describe('HSM signer errors name the cause and never the password', () => {
  it('a wrong password fails with SDR_PARDENY from SDF_GetPrivateKeyAccessRight', async () => {
    const error = await failure(createSigner(node(hsmSecurity({ password: 'Wr0ng#;pass' }))));
    expect(error).toBeInstanceOf(SdfError);
    expect(error).toMatchObject({ codeName: 'SDR_PARDENY', fn: 'SDF_GetPrivateKeyAccessRight' });
    expect(error.message).toContain('key index 3');
    expect(error.message).not.toContain('Wr0ng');
    expect(inspect(error)).not.toContain('Wr0ng');
  });

  it('an unknown key index fails with SDR_KEYNOTEXIST', async () => {
    const error = await failure(createSigner(node(hsmSecurity({ keyIndex: 9 }))));
    expect(error).toMatchObject({ codeName: 'SDR_KEYNOTEXIST' });
    expect(error.message).toContain('key index 9');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('a missing library is named', async () => {
    const error = await failure(createSigner(node(hsmSecurity({ lib: '/nonexistent/libsdf.so' }))));
    expect(error).toBeInstanceOf(SdfBindingError);
    expect(error).toMatchObject({ code: 'SDF_LIBRARY_NOT_FOUND' });
    expect(error.message).toContain('/nonexistent/libsdf.so');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('a config without key_index is a ConfigError', async () => {
    const error = await failure(createSigner(node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\npassword=${PASSWORD}`)));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_MISSING_KEY' });
    expect(error.message).not.toContain(PASSWORD);
  });

  it('a missing software key file is a ConfigError naming the file', async () => {
    const error = await failure(createSigner(node('enable_hsm=false\nprivate_key_path=conf/absent.pem')));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('absent.pem');
  });
});

describe('HSM signer sessions', () => {
  it('spreads concurrent signs over its sessions and closes every one of them', async () => {
    const before = mockControl().counters();
    const signer = (await createSigner(node(hsmSecurity()), { sessions: 4 })) as HsmSigner;
    expect(signer.sessions).toBe(4);
    expect(mockControl().counters().openSessions).toBe(before.openSessions + 4);
    expect(mockControl().counters().accessRights).toBe(before.accessRights + 4);
    const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i}`));
    const signatures = await Promise.all(messages.map((message) => signer.sign(message)));
    signatures.forEach((signature, i) => expect(sm2Verify(publicKey, messages[i], signature)).toBe(true));
    await signer.close();
    const after = mockControl().counters();
    expect(after.openSessions).toBe(before.openSessions);
    expect(after.openDevices).toBe(before.openDevices);
    expect(after.accessRights).toBe(before.accessRights);
    await expect(signer.sign(Buffer.from('late'))).rejects.toBeInstanceOf(SignerClosedError);
  });

  it('close() waits for signatures already in flight', async () => {
    const signer = await createSigner(node(hsmSecurity()));
    const pending = Promise.all([signer.sign(Buffer.from('a')), signer.sign(Buffer.from('b'))]);
    await signer.close();
    const [a, b] = await pending;
    expect(sm2Verify(publicKey, Buffer.from('a'), a)).toBe(true);
    expect(sm2Verify(publicKey, Buffer.from('b'), b)).toBe(true);
  });
});
