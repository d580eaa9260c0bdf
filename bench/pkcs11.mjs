#!/usr/bin/env node
// PKCS#11 signing on SoftHSMv2 (ECDSA P-256): gmt0018 against pkcs11js on the same token, one
// session each on the calling thread, and gmt0018's async pool against one async session, in
// turns within one run. pkcs11js compiles with node-gyp at install, so it is installed for the
// bench alone, into bench/.cache (git-ignored), not into the project.
//   node bench/pkcs11.mjs     (after npm run build; needs softhsm2 and opensc)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { alternate, signDigestRate, timed } from './measure.mjs';
import { gm, ROOT } from './setup.mjs';
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

export async function measurePkcs11(rounds = 5) {
  const lib = pkcs11js();
  const token = createToken();
  const settings = { library: MODULE, tokenLabel: 'bench', pin: PIN, keyLabel: 'bench-key' };
  const module = await gm.Pkcs11Module.open(MODULE);
  const single = await gm.Pkcs11Signer.open({ ...settings, sessions: 1 });
  const pool = await gm.Pkcs11Signer.open(settings);
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
    const [one, many] = await alternate(rounds, [() => signDigestRate(single), () => signDigestRate(pool)]);
    await session.close();
    return { ours, theirs, one, many, sessions: pool.sessions };
  } finally {
    other.close();
    await Promise.all([single.close(), pool.close(), module.close()]);
    token.remove();
  }
}

export function addPkcs11Rows(table, { ours, theirs, one, many, sessions }) {
  table.info('pkcs11js sign, SoftHSM P-256, 1 session, sync', theirs);
  table.atLeast('gmt0018 PKCS#11 sign, SoftHSM P-256, 1 session, sync', ours, theirs, 1.0, 'pkcs11js');
  table.info('gmt0018 PKCS#11 async, 1 session', one);
  table.atLeast(`gmt0018 PKCS#11 async pool, ${sessions} sessions`, many, one, 1.8, '1 session');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const table = new Table();
  addPkcs11Rows(table, await measurePkcs11());
  process.stdout.write(`${table.toMarkdown()}\n`);
}
