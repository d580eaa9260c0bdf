#!/usr/bin/env node
// Soak: a long stream of mixed operations through the HSM signer while the mock card fails in
// every way the fault model allows, then the figures that matter: RSS, sessions left open,
// errors by code, and requests lost (settled neither way; must be 0).
//
//   npm run soak                      1,000,000 operations (several minutes)
//   npm run soak -- --ops 50000       a shorter run
import { parseArgs } from 'node:util';
import { createBenchCard, gm, koffi, MOCK_LIB } from './setup.mjs';

const { values } = parseArgs({
  options: { ops: { type: 'string', default: '1000000' }, concurrency: { type: 'string', default: '64' } },
});
const TOTAL = Number(values.ops);
const IN_FLIGHT = Number(values.concurrency);
const SDR = gm.SDR;

const lib = koffi.load(MOCK_LIB);
const setFault = lib.func('MOCK_SetFault', 'int', ['str', 'int', 'uint32_t', 'int']);
const setOutage = lib.func('MOCK_SetOutage', 'int', ['uint32_t', 'int']);

/** Faults injected in turn, one every few thousand operations. */
const FAULTS = [
  () => setFault('SDF_InternalSign_ECC', SDR.SDR_COMMFAIL, 0, 3),
  () => setFault('SDF_InternalSign_ECC', SDR.SDR_HARDFAIL, 10, 1),
  () => setFault('SDF_OpenSession', SDR.SDR_OPENSESSION, 0, 1),
  () => setFault('SDF_InternalSign_ECC', SDR.SDR_SIGNERR, 0, 1),
  () => setFault('SDF_GetPrivateKeyAccessRight', SDR.SDR_COMMFAIL, 0, 1),
  () => setOutage(300, SDR.SDR_COMMFAIL),
];

const card = createBenchCard();
const signer = await gm.createSigner(card.configPath, {
  sessions: 8,
  retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 100 },
});
const errors = new Map();
let issued = 0;
let settled = 0;
let ok = 0;
let invalid = 0;
/** Heap in use after a full collection (npm run soak passes --expose-gc), else as it stands. */
function heapUsed() {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}
const heapStart = heapUsed();
const rssStart = process.memoryUsage().rss;
const started = Date.now();

async function operation(i) {
  const message = Buffer.from(`soak ${i}`);
  const kind = i % 3;
  if (kind === 2) {
    // Verification of a card signature: host-side, but part of what a node does all day.
    const signature = await signer.sign(message);
    if (!(await signer.verify(message, signature))) invalid++;
    return;
  }
  const signature =
    kind === 0 ? await signer.sign(message) : await signer.signDigest(gm.sm2Digest(signer.publicKey, message));
  if (!gm.sm2Verify(signer.publicKey, message, signature)) invalid++;
}

async function worker() {
  while (issued < TOTAL) {
    const i = issued++;
    if (i % 5000 === 4999) FAULTS[((i / 5000) % FAULTS.length) | 0]();
    try {
      await operation(i);
      ok++;
    } catch (error) {
      const code = error.codeName ?? error.code ?? error.name;
      errors.set(code, (errors.get(code) ?? 0) + 1);
    } finally {
      settled++;
    }
    if (settled % 50000 === 0) {
      const rate = Math.round(settled / ((Date.now() - started) / 1000));
      process.stderr.write(`soak: ${settled.toLocaleString('en-US')} / ${TOTAL.toLocaleString('en-US')} (${rate}/s)\n`);
    }
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
// Let a last injected outage end: close() during one fails with the device's code, as it should.
await new Promise((resolve) => setTimeout(resolve, 400));
await signer.close();
const counters = card.counters();
card.remove();

const seconds = (Date.now() - started) / 1000;
const lines = [
  `operations:        ${TOTAL.toLocaleString('en-US')} in ${seconds.toFixed(0)} s (${Math.round(TOTAL / seconds)}/s), ${IN_FLIGHT} in flight, 8 sessions`,
  `succeeded:         ${ok.toLocaleString('en-US')}`,
  `errors by code:    ${[...errors].map(([code, n]) => `${code} ${n}`).join(', ') || 'none'}`,
  `bad signatures:    ${invalid}`,
  `lost requests:     ${issued - settled}`,
  `RSS:               ${(rssStart / 2 ** 20).toFixed(1)} MiB -> ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`,
  `heap after GC:     ${(heapStart / 2 ** 20).toFixed(1)} MiB -> ${(heapUsed() / 2 ** 20).toFixed(1)} MiB`,
  `open after close:  ${counters.openSessions} sessions, ${counters.openDevices} devices, ${counters.accessRights} access rights`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (issued !== settled || invalid > 0 || counters.openSessions > 0 || counters.openDevices > 0) process.exitCode = 1;
