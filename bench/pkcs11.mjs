#!/usr/bin/env node
// PKCS#11 signing on SoftHSMv2 (ECDSA P-256): gmt0018 against pkcs11js on the same token, one
// session each on the calling thread, and gmt0018's async pool and signing threads (one per
// core) against one async session, in turns within one run. pkcs11js compiles with node-gyp at install, so it is installed for the
// bench alone, into bench/.cache (git-ignored), not into the project.
//   node bench/pkcs11.mjs     (after npm run build; needs softhsm2 and opensc)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { alternate, signDigestRate, timed } from './measure.mjs';
import { gm, koffi, ROOT } from './setup.mjs';
import { Table } from './table.mjs';

const PKCS11JS_VERSION = '2.1.7';
const CACHE = join(ROOT, 'bench', '.cache');
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find(existsSync);
const PIN = '1234';

function pkcs11js() {
  const require = createRequire(join(CACHE, 'index.js'));
  try {
    return require('pkcs11js');
  } catch {
    mkdirSync(CACHE, { recursive: true });
    execFileSync(
      'npm',
      ['install', '--prefix', CACHE, '--no-save', '--no-audit', '--no-fund', `pkcs11js@${PKCS11JS_VERSION}`],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    return require('pkcs11js');
  }
}

/** A SoftHSM token with one P-256 key, in a temporary folder. */
function createToken() {
  if (!MODULE) throw new Error('SoftHSMv2 is not installed (apt-get install softhsm2 opensc)');
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-bench-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  writeFileSync(process.env.SOFTHSM2_CONF, `directories.tokendir = ${join(dir, 'tokens')}\nlog.level = ERROR\n`);
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'] };
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '87654321'],
    quiet,
  );
  execFileSync(
    'pkcs11-tool',
    ['--module', MODULE, '--token-label', 'bench', '--login', '--pin', PIN, '--keypairgen'].concat([
      '--key-type',
      'EC:prime256v1',
      '--label',
      'bench-key',
      '--id',
      '01',
    ]),
    quiet,
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** pkcs11js on one session: C_SignInit + C_Sign per signature, as its users write it. */
function pkcs11jsSigner(lib) {
  const p11 = new lib.PKCS11();
  p11.load(MODULE);
  try {
    p11.C_Initialize();
  } catch (error) {
    if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test(String(error))) throw error;
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === 'bench');
  const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION);
  try {
    p11.C_Login(session, lib.CKU_USER, PIN);
  } catch (error) {
    if (!/CKR_USER_ALREADY_LOGGED_IN/.test(String(error))) throw error;
  }
  p11.C_FindObjectsInit(session, [
    { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
    { type: lib.CKA_LABEL, value: 'bench-key' },
  ]);
  const [key] = p11.C_FindObjects(session, 1);
  p11.C_FindObjectsFinal(session);
  const out = Buffer.alloc(512);
  return {
    sign(digest) {
      p11.C_SignInit(session, { mechanism: lib.CKM_ECDSA }, key);
      return p11.C_Sign(session, digest, out);
    },
    close: () => p11.C_CloseSession(session),
  };
}

/**
 * What the token itself does on several threads: `threads` worker threads, each signing on the
 * calling thread with a session of its own. No binding can make a pool faster than this.
 */
function tokenCeiling(threads, settings) {
  const worker = () =>
    new Promise((resolve, reject) => {
      const thread = new Worker(new URL('./pkcs11-sign-worker.mjs', import.meta.url), {
        workerData: { module: MODULE, ...settings, ms: 1000 },
      });
      thread.once('message', resolve);
      thread.once('error', reject);
    });
  return Promise.all(Array.from({ length: threads }, worker)).then((results) => ({
    ops: results.reduce((sum, { ops }) => sum + ops, 0),
    seconds: Math.max(...results.map(({ seconds }) => seconds)),
  }));
}

/**
 * The pool against one session where the device, not the host, is the limit: the mock PKCS#11
 * module answering every call 2 ms after it began, as a network HSM does.
 */
async function latencyBoundPool(rounds, sessions) {
  const library = join(ROOT, 'native-bindings', 'mock-pkcs11', 'build', 'libmockp11.so');
  const hooks = koffi.load(library);
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-bench-mockp11-'));
  writeFileSync(
    join(dir, 'token.conf'),
    `[token]\nlabel=remote\npin=${PIN}\n\n[key]\nlabel=k\ntype=p256\nprivate=${'1f'.repeat(32)}\n`,
  );
  hooks.func('unsigned long MOCKP11_SetDir(const char *dir)')(dir);
  const settings = { library, tokenLabel: 'remote', pin: PIN, keyLabel: 'k' };
  const single = await gm.Pkcs11Signer.open({ ...settings, sessions: 1 });
  const pool = await gm.Pkcs11Signer.open({ ...settings, sessions });
  try {
    hooks.func('unsigned long MOCKP11_SetLatencyUs(unsigned int us)')(2000);
    const [one, many] = await alternate(rounds, [
      () => signDigestRate(single, { ms: 600 }),
      () => signDigestRate(pool, { ms: 600 }),
    ]);
    return { one, many, sessions: pool.sessions };
  } finally {
    hooks.func('unsigned long MOCKP11_SetLatencyUs(unsigned int us)')(0);
    await Promise.all([single.close(), pool.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measurePkcs11(rounds = 5) {
  const lib = pkcs11js();
  const token = createToken();
  const settings = { library: MODULE, tokenLabel: 'bench', pin: PIN, keyLabel: 'bench-key' };
  const module = await gm.Pkcs11Module.open(MODULE);
  const single = await gm.Pkcs11Signer.open({ ...settings, sessions: 1 });
  const pool = await gm.Pkcs11Signer.open(settings);
  const threads = await gm.Pkcs11Signer.open(settings, { signThreads: Math.min(availableParallelism(), 64) });
  const other = pkcs11jsSigner(lib);
  try {
    const session = await module.openSession(await module.findSlot({ tokenLabel: 'bench' }));
    await session.login(PIN);
    const key = await gm.findSigningKey(session, { label: 'bench-key' }, undefined);
    const digest = new Uint8Array(32).fill(9);
    const [ours, theirs] = await alternate(rounds, [
      () => timed(() => session.signSync(gm.CKM_ECDSA, key.handle, digest), { ms: 600, warmup: 50 }),
      () => timed(() => other.sign(digest), { ms: 600, warmup: 50 }),
    ]);
    const [one, many, threaded] = await alternate(rounds, [
      () => signDigestRate(single),
      () => signDigestRate(pool),
      () => signDigestRate(threads),
    ]);
    const tokenSettings = { tokenLabel: 'bench', pin: PIN, keyLabel: 'bench-key' };
    const [oneThread, twoThreads] = await alternate(rounds, [
      () => tokenCeiling(1, tokenSettings),
      () => tokenCeiling(2, tokenSettings),
    ]);
    await session.close();
    const remote = await latencyBoundPool(rounds, pool.sessions);
    const signThreads = threads.sessions;
    return { ours, theirs, one, many, sessions: pool.sessions, threaded, signThreads, oneThread, twoThreads, remote };
  } finally {
    other.close();
    await Promise.all([single.close(), pool.close(), threads.close(), module.close()]);
    token.remove();
  }
}

export function addPkcs11Rows(
  table,
  { ours, theirs, one, many, sessions, threaded, signThreads, oneThread, twoThreads, remote },
) {
  table.info('pkcs11js sign, SoftHSM P-256, 1 session, sync', theirs);
  table.atLeast('gmt0018 PKCS#11 sign, SoftHSM P-256, 1 session, sync', ours, theirs, 1.0, 'pkcs11js');
  table.info('gmt0018 PKCS#11 async, 1 session', one);
  table.atLeast(`gmt0018 PKCS#11 async pool, ${sessions} sessions`, many, one, 1.8, '1 session');
  table.atLeast(`gmt0018 PKCS#11 async, ${signThreads} signing threads`, threaded, one, 1.8, '1 session');
  table.info('SoftHSM itself: sync signs on 1 thread', oneThread);
  table.info(`SoftHSM itself: sync signs on 2 threads (${(twoThreads / oneThread).toFixed(2)} x 1 thread)`, twoThreads);
  table.info('gmt0018 PKCS#11 async, 1 session, device answering in 2 ms', remote.one);
  table.atLeast(
    `gmt0018 PKCS#11 async pool, ${remote.sessions} sessions, device answering in 2 ms`,
    remote.many,
    remote.one,
    1.8,
    '1 session',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const table = new Table();
  addPkcs11Rows(table, await measurePkcs11());
  process.stdout.write(`${table.toMarkdown()}\n`);
}
