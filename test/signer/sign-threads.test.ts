/**
 * The HSM signer on signing threads of its own (signThreads / hsm_sign_threads): calls made
 * synchronously on worker threads, handed over through shared memory. What the pool promises
 * (deadlines, recovery, close) is checked for both dispatches in hsm-recovery.test.ts; this file
 * covers what is particular to the threads.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, parseSecurityConfig } from '../../src/config';
import { SdfDevice, SdfLibrary } from '../../src/sdf';
import { SignLane } from '../../src/native/sign-lane';
import { SdfSignLaneHost } from '../../src/sdf/sign-lane-host';
import { HsmSigner } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2Verify, sm2VerifyDigest } from '../../src/sm2';
import { MOCK_LIB, mockControl, mockVariantLib, TempKeystore } from '../helpers/mock-card';
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

/** Ends the first signing thread of a signer from outside, as a thread that failed would end. */
async function endFirstSigningThread(signer: HsmSigner): Promise<void> {
  const { pool } = signer as unknown as { pool: { lanes: { thread: { worker: { terminate(): Promise<number> } } }[] } };
  await pool.lanes[0].thread.worker.terminate();
}

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

describe('the hand-over between the event loop and a signing thread', () => {
  it('signs on across the 32-bit wrap of its call numbers', async () => {
    const device = await SdfDevice.open(MOCK_LIB);
    const session = await device.openSession();
    await session.getPrivateKeyAccessRight(1, PASSWORD);
    const lane = await SignLane.start(new SdfSignLaneHost(device.library), 2 ** 31 - 3);
    try {
      for (let i = 0; i < 8; i++) {
        const digest = new Uint8Array(32).fill(i + 1);
        expect(sm2VerifyDigest(publicKey, digest, await lane.sign(session, 1n, digest))).toBe(true);
      }
      const digests = Array.from({ length: 60 }, (_, i) => new Uint8Array(32).fill(i)); // within its 64-call ring
      const signatures = await Promise.all(digests.map((d) => lane.sign(session, 1n, d)));
      signatures.forEach((s, i) => expect(sm2VerifyDigest(publicKey, digests[i], s)).toBe(true));
    } finally {
      await lane.stop();
      await device.close();
    }
  });

  it('answers a call the card finished at once, though the next one on the thread takes long', async () => {
    // deadlines off: nothing but the event loop looking by itself can bring the first answer
    const signer = await HsmSigner.open(config, { signThreads: 1, library: { callTimeoutMs: 0 } });
    try {
      mock.setStall('SDF_InternalSign_ECC', 1500, 1, 1); // the second call from now stalls
      const started = Date.now();
      const first = signer.signDigest(new Uint8Array(32).fill(1)).then(() => Date.now() - started);
      const second = signer.signDigest(new Uint8Array(32).fill(2));
      expect(await first).toBeLessThan(500);
      await second;
    } finally {
      await signer.close();
    }
  });

  it('hands back the calls a thread that ended by itself never made: they are signed elsewhere', async () => {
    const signer = await HsmSigner.open(config, { signThreads: 2, retry: FAST_RETRY });
    try {
      mock.setLatencyUs(2000); // calls queue up on each thread
      const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`queued ${i}`));
      const results = messages.map((m) => signer.sign(m).catch((error: Error) => error));
      await new Promise((resolve) => setTimeout(resolve, 15));
      await endFirstSigningThread(signer);
      const settled = await Promise.all(results);
      // at most the call the thread was making is lost, as SDF_THREAD_FAILED; the rest are signed
      const failures = settled.filter((r): r is Error => r instanceof Error);
      expect(failures.length).toBeLessThanOrEqual(1);
      for (const failure of failures) expect(failure).toMatchObject({ code: 'SDF_THREAD_FAILED' });
      settled.forEach((r, i) => {
        if (r instanceof Uint8Array) expect(sm2Verify(publicKey, messages[i], r)).toBe(true);
      });
      // the event loop's shared look at the rings must not trip over the ended thread meanwhile
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      mock.setLatencyUs(0);
      await signer.close();
    }
    expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
  });

  it('replaces a thread that ended by itself, and signs on', async () => {
    const signer = await HsmSigner.open(config, { signThreads: 1, retry: FAST_RETRY });
    try {
      await signer.sign(Buffer.from('before'));
      await endFirstSigningThread(signer);
      const signature = await signer.sign(Buffer.from('after'));
      expect(sm2Verify(publicKey, Buffer.from('after'), signature)).toBe(true);
      await eventually(() => mock.counters().openSessions === 1);
    } finally {
      await signer.close();
    }
    expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
  });

  it('never checks an idle session while a signature runs on it (the strict mock aborts on that)', () => {
    const script = [
      `process.env.GMT0018_MOCK_KEYSTORE = ${JSON.stringify(keystore.dir)};`,
      `const { HsmSigner } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'index.js'))});`,
      `const config = { enableHsm: true, hsmLibPath: ${JSON.stringify(mockVariantLib('strict'))}, keyIndex: 1, password: ${JSON.stringify(PASSWORD)}, privateKeyPath: '' };`,
      '(async () => {',
      '  const signer = await HsmSigner.open(config, { signThreads: 1, healthCheckIdleMs: 20 });',
      '  for (let round = 0; round < 25; round++) {',
      '    await new Promise((resolve) => setTimeout(resolve, 30));',
      '    await Promise.all([1, 2, 3].map((i) => signer.sign(Buffer.from(`r${round} ${i}`))));',
      '  }',
      '  await signer.close();',
      "  console.log('done');",
      '})();',
    ].join('\n');
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, GMT0018_MOCK_LATENCY_US: '2000' },
    });
    expect(child.stderr).toBe('');
    expect(child.signal).toBeNull();
    expect(child.stdout.trim()).toBe('done');
  });
});

// Last: a library once opened with hsm_thread_model=serial is called one call at a time for the
// rest of the process, whatever a later signer asks.
it('refuses what signing threads cannot do, naming the setting', async () => {
  // the file cannot be made serial while signing threads call it
  const running = await HsmSigner.open(config, { signThreads: 1 });
  try {
    expect(() => new SdfLibrary(MOCK_LIB, { threadModel: 'serial' })).toThrow(
      expect.objectContaining({ code: 'SDF_CALL_REFUSED', message: expect.stringMatching(/signing threads/) }),
    );
  } finally {
    await running.close();
  }
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
