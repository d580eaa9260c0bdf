/**
 * C_Initialize and C_Finalize against the mock PKCS#11 module, which aborts the process on a
 * C_Finalize made while another call is inside it (PKCS#11 leaves that undefined): the binding
 * finalises and re-initialises the module only once every call has returned, and a call stuck
 * past its deadline fails a re-initialisation rather than holding it up.
 */
import { spawnSync } from 'node:child_process';
import { CKM_ECDSA, CKR, Pkcs11Module } from '../../src/pkcs11';
import { Pkcs11Signer } from '../../src/signer';
import { MOCK_PKCS11, mockPkcs11, useP256Token } from '../helpers/mock-pkcs11';
import { until } from '../helpers/until';

const PIN = '1234';
const mock = mockPkcs11();
const settings = { library: MOCK_PKCS11, tokenLabel: 'lifecycle', pin: PIN, keyLabel: 'k', callTimeoutMs: 100 };
const token = useP256Token('lifecycle', PIN);

it('is strict enough to catch it: the mock aborts on C_Finalize while a call is inside it', () => {
  const script = `
    const koffi = require('koffi');
    const lib = koffi.load(${JSON.stringify(MOCK_PKCS11)});
    lib.func('unsigned long MOCKP11_SetDir(const char *dir)')(${JSON.stringify(token.dir)});
    lib.func('unsigned long MOCKP11_SetStall(const char *fn, unsigned int ms, unsigned long after, long count)')('C_GetSlotList', 500, 0, 1);
    const initialize = lib.func('unsigned long C_Initialize(void *args)');
    const finalize = lib.func('unsigned long C_Finalize(void *reserved)');
    const slots = lib.func('unsigned long C_GetSlotList(uint8_t present, void *list, _Inout_ unsigned long *count)');
    initialize(null);
    slots.async(1, null, [0], () => {});
    setTimeout(() => { finalize(null); console.log('no abort'); }, 100);`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, cwd: __dirname });
  expect(run.signal).toBe('SIGABRT');
  expect(run.stderr).toContain('C_Finalize called while 1 other calls are inside the module');
});

it('finalises the module after a call on no session that passed its deadline returns, not under it', async () => {
  mock.setStall('C_GetSlotList', 1_200, 0, 1);
  const finalized = mock.callCount('C_Finalize');
  await expect(Pkcs11Signer.open(settings)).rejects.toMatchObject({ code: 'PKCS11_CALL_TIMEOUT' });
  expect(mock.callCount('C_Finalize')).toBe(finalized);
  expect(await until(() => mock.callCount('C_Finalize') === finalized + 1, 3_000)).toBe(true);
});

it('fails a re-initialisation at once while a call is stuck inside the module, and re-initialises once it returns', async () => {
  const signer = await Pkcs11Signer.open(settings, { sessions: 1, retry: { attempts: 1 } });
  try {
    const digest = new Uint8Array(32).fill(3);
    mock.setStall('C_Sign', 1_500, 0, 1);
    await expect(signer.signDigest(digest)).rejects.toMatchObject({ code: 'PKCS11_CALL_TIMEOUT', fn: 'C_Sign' });
    mock.proxyRestart(); // every call answers CKR_DEVICE_ERROR until C_Finalize + C_Initialize
    const started = Date.now();
    await expect(signer.signDigest(digest)).rejects.toMatchObject({ code: 'PKCS11_CALL_TIMEOUT', fn: 'C_Finalize' });
    expect(Date.now() - started).toBeLessThan(1_000);
    const initialized = mock.callCount('C_Initialize');
    await until(() => mock.openSessions() === 0 && mock.callCount('C_Sign') > 0, 3_000);
    await new Promise((wake) => setTimeout(wake, 1_600 - (Date.now() - started)));
    expect(await signer.signDigest(digest)).toHaveLength(64);
    expect(mock.callCount('C_Initialize')).toBe(initialized + 1);
  } finally {
    await signer.close();
  }
});

it('refuses a session whose C_OpenSession returned as the module was being initialised again', async () => {
  const module = await Pkcs11Module.open(MOCK_PKCS11, { callTimeoutMs: 5_000 });
  try {
    const slot = await module.findSlot({ tokenLabel: 'lifecycle' });
    mock.setStall('C_OpenSession', 300, 0, 1);
    const opening = module.openSession(slot);
    await until(() => mock.callCount('C_OpenSession') > 0, 3_000);
    await module.reinitialize(module.generation); // waits for that C_OpenSession, then C_Finalize closes its session
    await expect(opening).rejects.toMatchObject({ code: 'PKCS11_HANDLE_CLOSED', fn: 'C_OpenSession' });
    expect(mock.openSessions()).toBe(0);
  } finally {
    await module.close();
  }
});

it('loses no signature when the proxy restarts while a C_OpenSession is inside the module', async () => {
  const signer = await Pkcs11Signer.open(
    { ...settings, callTimeoutMs: 5_000 },
    { sessions: 2, retry: { attempts: 8, baseDelayMs: 1 } },
  );
  const failures: unknown[] = [];
  let running = true;
  const worker = async () => {
    for (let i = 0; running; i++) {
      await signer.signDigest(new Uint8Array(32).fill(i)).catch((error: unknown) => failures.push(error));
    }
  };
  const load = Promise.all(Array.from({ length: 4 }, worker));
  try {
    // a session breaks, and its replacement's C_OpenSession is slow; while it is inside the
    // module, the proxy restarts: the other session's next call starts a re-initialisation
    const opened = mock.callCount('C_OpenSession');
    mock.setStall('C_OpenSession', 300, 0, 1);
    mock.setFault('C_Sign', CKR.CKR_SESSION_HANDLE_INVALID, 0, 1);
    expect(await until(() => mock.callCount('C_OpenSession') > opened, 3_000)).toBe(true);
    const initialized = mock.callCount('C_Initialize');
    mock.proxyRestart();
    expect(await until(() => mock.callCount('C_Initialize') > initialized, 3_000)).toBe(true);
    await new Promise((wake) => setTimeout(wake, 200));
  } finally {
    running = false;
    await load;
    await signer.close();
  }
  expect(failures).toEqual([]);
  expect(mock.openSessions()).toBe(0);
});

describe('closing', () => {
  it('finalises the module only once a stuck call of another user of it returns', async () => {
    const first = await Pkcs11Module.open(MOCK_PKCS11, settings);
    const second = await Pkcs11Module.open(MOCK_PKCS11, settings);
    const session = await second.openSession(await second.findSlot({ tokenLabel: 'lifecycle' }));
    await session.login(PIN);
    const [key] = await session.findObjects([]);
    mock.setStall('C_SignInit', 1_500, 0, 1);
    const stuck = session.sign(CKM_ECDSA, key, new Uint8Array(32)).catch((error: unknown) => error);
    expect(await stuck).toMatchObject({ code: 'PKCS11_CALL_TIMEOUT' });
    const finalized = mock.callCount('C_Finalize');
    await second.close();
    await first.close(); // the last user: C_Finalize waits for the stalled call
    expect(mock.callCount('C_Finalize')).toBe(finalized);
    expect(await until(() => mock.callCount('C_Finalize') === finalized + 1, 3_000)).toBe(true);
  });

  it('closes a session that was opening when close() was called, and refuses it to its caller', async () => {
    const module = await Pkcs11Module.open(MOCK_PKCS11, { callTimeoutMs: 5_000 });
    const slot = await module.findSlot({ tokenLabel: 'lifecycle' });
    mock.setStall('C_OpenSession', 300, 0, 1);
    const opening = module.openSession(slot).catch((error: unknown) => error);
    await until(() => mock.callCount('C_OpenSession') > 0, 3_000);
    const closed = mock.callCount('C_CloseSession');
    await module.close(); // waits for the C_OpenSession, then closes its session
    expect(mock.callCount('C_CloseSession')).toBe(closed + 1);
    expect(mock.openSessions()).toBe(0);
    expect(await opening).toMatchObject({ code: 'PKCS11_HANDLE_CLOSED', fn: 'C_OpenSession' });
  });

  it('does not wait for a call that goes past its deadline while it closes', async () => {
    const signer = await Pkcs11Signer.open(settings, { sessions: 1, retry: { attempts: 1 } });
    mock.setStall('C_Sign', 3_000, 0, 1);
    const signing = signer.signDigest(new Uint8Array(32).fill(1)).catch((error: unknown) => error);
    await until(() => mock.callCount('C_Sign') > 0, 3_000);
    const started = Date.now();
    await signer.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await signing).toMatchObject({ code: 'PKCS11_CALL_TIMEOUT' });
    expect(await until(() => mock.openSessions() === 0, 5_000)).toBe(true);
  });

  it('refuses calls on a closed module rather than initialising it again', async () => {
    const module = await Pkcs11Module.open(MOCK_PKCS11, settings);
    await module.close();
    const initialized = mock.callCount('C_Initialize');
    await expect(module.slots()).rejects.toMatchObject({ code: 'PKCS11_HANDLE_CLOSED' });
    await expect(module.reinitialize(module.generation)).rejects.toMatchObject({ code: 'PKCS11_HANDLE_CLOSED' });
    expect(mock.callCount('C_Initialize')).toBe(initialized);
  });
});

it('keeps the PIN for a C_Login past its deadline until the call returns: no wrong PIN reaches the token', async () => {
  mock.setStall('C_Login', 500, 0, 1);
  await expect(Pkcs11Signer.open(settings)).rejects.toMatchObject({ code: 'PKCS11_CALL_TIMEOUT', fn: 'C_Login' });
  expect(await until(() => mock.callCount('C_Finalize') > 0 && mock.openSessions() === 0, 3_000)).toBe(true);
  expect(mock.failedLogins()).toBe(0);
});

it('never starts C_Initialize while a C_Finalize past its deadline is still inside the module', async () => {
  const signer = await Pkcs11Signer.open(settings, { sessions: 1, retry: { attempts: 3, baseDelayMs: 1 } });
  try {
    const initialized = mock.callCount('C_Initialize');
    const started = Date.now();
    mock.setStall('C_Finalize', 1_000, 0, 1);
    mock.proxyRestart(); // the next C_OpenSession fails: C_Finalize (stalled past its deadline), then C_Initialize
    mock.setFault('C_Sign', CKR.CKR_DEVICE_ERROR, 0, 1);
    const attempts: number[] = []; // how long each sign took while the module was unusable
    for (const end = started + 5_000; mock.callCount('C_Initialize') === initialized && Date.now() < end;) {
      const attempt = Date.now();
      await signer.signDigest(new Uint8Array(32).fill(2)).catch(() => undefined);
      attempts.push(Date.now() - attempt);
      await new Promise((wake) => setTimeout(wake, 50));
    }
    expect(attempts[0]).toBeLessThan(800); // failed at once, not held until C_Finalize returned
    expect(mock.callCount('C_Initialize')).toBe(initialized + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(await signer.signDigest(new Uint8Array(32).fill(2))).toHaveLength(64);
  } finally {
    await signer.close();
  }
});

it('closes a module whose C_CloseSession goes past its deadline, and finalises it once that returns', async () => {
  const module = await Pkcs11Module.open(MOCK_PKCS11, settings);
  await module.openSession(await module.findSlot({ tokenLabel: 'lifecycle' }));
  const finalized = mock.callCount('C_Finalize');
  mock.setStall('C_CloseSession', 1_200, 0, 1);
  await module.close();
  expect(mock.callCount('C_Finalize')).toBe(finalized);
  expect(await until(() => mock.callCount('C_Finalize') === finalized + 1, 5_000)).toBe(true);
});
