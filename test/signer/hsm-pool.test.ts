import { rmSync } from 'node:fs';
import koffi from 'koffi';
import { createSigner, HsmSigner } from '../../src/signer';
import { defaultSessionCount, libuvThreadPoolSize } from '../../src/signer/hsm';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';
import { smCryptoOracle } from '../helpers/oracles';

const PASSWORD = 'pool-secret';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const folders: string[] = [];

beforeAll(() => keystore.import(5, PASSWORD, privateKey));
afterEach(() => mockControl().setLatencyUs(0));
afterAll(() => {
  keystore.remove();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

const getCallCount = koffi
  .load(MOCK_LIB)
  .func('MOCK_GetCallCount', 'int', ['str', koffi.out(koffi.pointer('uint64_t'))]);
function calls(fn: string): number {
  const out = [0];
  getCallCount(fn, out);
  return Number(out[0]);
}

function configPath(): string {
  const folder = writeNodeFolder({
    security: `enable_hsm=true\nprivate_key_path=conf/node.pem\nhsm_lib_path=${MOCK_LIB}\nkey_index=5\npassword=${PASSWORD}`,
    privateKey,
  });
  folders.push(folder.dir);
  return folder.configPath;
}

test('the default session count follows the libuv thread pool, one thread spared', () => {
  expect(libuvThreadPoolSize({})).toBe(4);
  expect(defaultSessionCount({})).toBe(3);
  expect(defaultSessionCount({ UV_THREADPOOL_SIZE: '16' })).toBe(15);
  expect(defaultSessionCount({ UV_THREADPOOL_SIZE: '1' })).toBe(1);
  expect(defaultSessionCount({ UV_THREADPOOL_SIZE: 'lots' })).toBe(3);
  expect(defaultSessionCount({ UV_THREADPOOL_SIZE: '4096' })).toBe(64);
  expect(libuvThreadPoolSize({ UV_THREADPOOL_SIZE: '4096' })).toBe(1024);
});

test('a default pool opens that many sessions, each granted the access right once', async () => {
  const before = mockControl().counters();
  const signer = (await createSigner(configPath())) as HsmSigner;
  const expected = defaultSessionCount();
  try {
    expect(signer.sessions).toBe(expected);
    await Promise.all(Array.from({ length: 12 }, (_, i) => signer.sign(Buffer.from(`m${i}`))));
    const during = mockControl().counters();
    expect(during.openSessions - before.openSessions).toBe(expected);
    expect(during.accessRights - before.accessRights).toBe(expected);
  } finally {
    await signer.close();
  }
  expect(mockControl().counters().openSessions).toBe(before.openSessions);
});

test("digestOn: 'device' hashes SM3(Z||M) in the card and gives signatures others verify", async () => {
  const signer = (await createSigner(configPath(), { sessions: 2, digestOn: 'device' })) as HsmSigner;
  try {
    expect(signer.digestOn).toBe('device');
    const message = Buffer.from('hashed by the card');
    const hashFinals = calls('SDF_HashFinal');
    const signature = await signer.sign(message);
    expect(calls('SDF_HashFinal')).toBe(hashFinals + 1);
    expect(smCryptoOracle.verify(publicKey, message, signature)).toBe(true);
    const custom = await signer.sign(message, { userId: 'node-7' });
    expect(sm2Verify(publicKey, message, custom, { userId: 'node-7' })).toBe(true);
    expect(sm2Verify(publicKey, message, custom)).toBe(false);
  } finally {
    await signer.close();
  }
});

test('bad pool options are refused before the device is opened', async () => {
  const before = mockControl().counters();
  await expect(createSigner(configPath(), { sessions: 0 })).rejects.toThrow(/sessions must be an integer/);
  await expect(createSigner(configPath(), { sessions: 257 })).rejects.toThrow(RangeError);
  await expect(createSigner(configPath(), { digestOn: 'gpu' as 'host' })).rejects.toThrow(/digestOn must be/);
  expect(mockControl().counters().openDevices).toBe(before.openDevices);
});

test('the event loop keeps turning while the device works', async () => {
  const signer = await createSigner(configPath(), { sessions: 1 });
  try {
    mockControl().setLatencyUs(50_000);
    const events: string[] = [];
    const signing = signer.sign(Buffer.from('slow')).then(() => events.push('signed'));
    await new Promise((resolve) => setImmediate(resolve));
    events.push('loop turned');
    await signing;
    expect(events).toEqual(['loop turned', 'signed']);
  } finally {
    await signer.close();
  }
});
