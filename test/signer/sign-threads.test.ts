/**
 * The HSM signer on signing threads of its own (signThreads / hsm_sign_threads): calls made
 * synchronously on worker threads, handed over through shared memory. What the pool promises
 * (deadlines, recovery, close) is checked for both dispatches in hsm-recovery.test.ts; this file
 * covers what is particular to the threads.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, parseSecurityConfig } from '../../src/config';
import { HsmSigner } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2Verify } from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { smCryptoOracle } from '../helpers/oracles';

const PASSWORD = 'threads#;pw';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const configText = `[security]\nenable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}\n`;
const config = parseSecurityConfig(configText);
const mock = mockControl();
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

beforeAll(() => keystore.import(1, PASSWORD, privateKey));
afterAll(() => keystore.remove());
afterEach(() => {
  mock.reset();
  mock.setStall(null, 0, 0, 0);
});

async function eventually(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('signs 1,000 messages at once on 2 threads: every signature verifies, the card sees 2 sessions', async () => {
  const before = mock.counters();
  const signer = await HsmSigner.open(config, { signThreads: 2 });
  try {
    expect(signer.sessions).toBe(2);
    expect(mock.counters().openSessions - before.openSessions).toBe(2);
    const messages = Array.from({ length: 1000 }, (_, i) => Buffer.from(`transaction ${i}`));
    const signatures = await Promise.all(messages.map((m) => signer.sign(m)));
    signatures.forEach((signature, i) => expect(sm2Verify(publicKey, messages[i], signature)).toBe(true));
    // and a sample in an independent implementation (sm-crypto takes tens of ms a verification)
    for (let i = 0; i < 1000; i += 100) expect(smCryptoOracle.verify(publicKey, messages[i], signatures[i])).toBe(true);
    // signDigest takes the digest as it is: the same SM3(Z||M) sm2Digest computes
    const digest = sm2Digest(publicKey, messages[0]);
    expect(smCryptoOracle.verify(publicKey, messages[0], await signer.signDigest(digest))).toBe(true);
  } finally {
    await signer.close();
  }
  expect(mock.counters()).toMatchObject({ openSessions: before.openSessions, accessRights: before.accessRights });
});

it('is set by hsm_sign_threads in config.ini, within 0 to 64', async () => {
  const signer = await HsmSigner.open(parseSecurityConfig(`${configText}hsm_sign_threads=3\n`));
  try {
    expect(signer.sessions).toBe(3);
    expect(smCryptoOracle.verify(publicKey, Buffer.from('m'), await signer.sign(Buffer.from('m')))).toBe(true);
  } finally {
    await signer.close();
  }
  expect(() => parseSecurityConfig(`${configText}hsm_sign_threads=65\n`)).toThrow(ConfigError);
  expect(() => parseSecurityConfig(`${configText}hsm_sign_threads=two\n`)).toThrow(/hsm_sign_threads/);
});

it('hands the calls queued behind a stuck one to another thread: all signed, the stuck session closed once it returns', async () => {
  const signer = await HsmSigner.open(config, { signThreads: 2, retry: FAST_RETRY, library: { callTimeoutMs: 200 } });
  try {
    const opened = mock.callCount('SDF_OpenSession');
    mock.setStall('SDF_InternalSign_ECC', 1500, 0, 1);
    const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`queued ${i}`));
    const results = await Promise.all(messages.map((m) => signer.sign(m).catch((error: Error) => error)));
    const timedOut = results.filter((r) => r instanceof Error);
    // only the call that was stuck fails; the ones queued behind it were made on another thread
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]).toMatchObject({ code: 'SDF_CALL_TIMEOUT', fn: 'SDF_InternalSign_ECC' });
    results.forEach((r, i) => {
      if (r instanceof Uint8Array) expect(sm2Verify(publicKey, messages[i], r)).toBe(true);
    });
    expect(signer.sessions).toBe(2);
    expect(signer.sessionsLeftBehind).toBe(1);
    // the lane is started again at once, on a new thread and session, not only once the other fills up
    await eventually(() => signer.sessionsLeftBehind === 0 && mock.counters().openSessions === 2);
    await Promise.all(messages.map((m) => signer.sign(m)));
    expect(mock.callCount('SDF_OpenSession')).toBe(opened + 1);
  } finally {
    await signer.close();
  }
  expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
});

it('does not keep an idle process alive: a script that signs and forgets to close exits', () => {
  const script = [
    `const { HsmSigner } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'index.js'))});`,
    `const config = { enableHsm: true, hsmLibPath: ${JSON.stringify(MOCK_LIB)}, keyIndex: 1, password: ${JSON.stringify(PASSWORD)}, privateKeyPath: '' };`,
    `HsmSigner.open(config, { signThreads: 2 })`,
    `  .then((signer) => signer.sign(Buffer.from('once')))`,
    `  .then((signature) => console.log(signature.length));`,
  ].join('\n');
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15_000, env: process.env });
  expect(child.error).toBeUndefined();
  expect(child.stderr).toBe('');
  expect(child.stdout.trim()).toBe('64');
  expect(child.status).toBe(0);
});

// Last: a library once opened with hsm_thread_model=serial is called one call at a time for the
// rest of the process, whatever a later signer asks.
it('refuses what signing threads cannot do, naming the setting', async () => {
  await expect(HsmSigner.open(config, { signThreads: 2, sessions: 2 })).rejects.toThrow(
    /sessions and signThreads cannot both be set/,
  );
  await expect(HsmSigner.open(config, { signThreads: 2, digestOn: 'device' })).rejects.toThrow(/digestOn 'host'/);
  await expect(HsmSigner.open(config, { signThreads: 65 })).rejects.toThrow(
    /signThreads must be an integer from 0 to 64/,
  );
  // A library called one call at a time can only be queued on the libuv pool.
  const serial = parseSecurityConfig(`${configText}hsm_thread_model=serial\n`);
  await expect(HsmSigner.open(serial, { signThreads: 1 })).rejects.toMatchObject({
    code: 'SDF_CALL_REFUSED',
    message: expect.stringMatching(/hsm_thread_model=serial/),
  });
  expect(mock.counters()).toMatchObject({ openSessions: 0, openDevices: 0 });
});
