#!/usr/bin/env node
// npm run bench [-- --memory-ops N]   (the memory row signs 1,000,000 times unless N is given)
// Every figure of issue 4's targets, measured in this one run on this machine, as one table.
// Progress goes to stderr, the table (Markdown) to stdout.
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { alternate, cLoop, cLoopOnEveryCore, cliBench, timed } from './measure.mjs';
import { createBenchCard, gm, KEY_INDEX, MOCK_LIB, PASSWORD, slowDeviceCeiling, slowDeviceEnv } from './setup.mjs';
import { addDefenceRows, measureDefences } from './defences.mjs';
import { addPkcs11Rows, measurePkcs11 } from './pkcs11.mjs';
import { addRemoteRows, benchRemote } from './remote/remote.mjs';
import { measureSoftware } from './software.mjs';
import { addVerifyKeyRows, measureVerifyKeys } from './verify-keys.mjs';
import { syncCallsOnWorkers } from './worker-calls.mjs';
import { Table } from './table.mjs';

const { values } = parseArgs({ options: { 'memory-ops': { type: 'string' } } });
const memoryOps = Number(values['memory-ops'] ?? 1_000_000);
if (!Number.isSafeInteger(memoryOps) || memoryOps < 1) throw new Error('--memory-ops must be a positive integer');

const IN_FLIGHT = 1000;
const step = (text) => process.stderr.write(`bench: ${text}\n`);

/** The C loop and the binding's sync path on one session, in turns. */
async function nativeVsSync(card) {
  const device = await gm.SdfDevice.open(MOCK_LIB);
  try {
    const session = await device.openSession();
    await session.getPrivateKeyAccessRight(KEY_INDEX, PASSWORD);
    const digest = new Uint8Array(32).fill(0xa5);
    return await alternate(5, [
      // About 0.6 s at the mock's ~45,000 signs/s, as long as the sync side's window: a window of a
      // few thousand signs (tens of ms) swung the C loop's rate by 20 % from run to run.
      () => cLoop(card, 25_000),
      () => timed(() => session.internalSignSync(KEY_INDEX, digest), { ms: 600, warmup: 50 }),
    ]);
  } finally {
    await device.close();
  }
}

async function sessionsLeftAfterClose(card) {
  const signer = await gm.createSigner(card.configPath, { sessions: 8 });
  await Promise.all(Array.from({ length: 200 }, (_, i) => signer.sign(Buffer.from(`close test ${i}`))));
  await signer.close();
  return card.counters();
}

async function main() {
  const card = createBenchCard();
  const table = new Table();
  try {
    step('native C loop and the HSM sync path, one session each, in turns');
    const [c, sync] = await nativeVsSync(card);
    table.info('C loop (sdf-loop), 1 session', c);
    table.atLeast('HSM sync, 1 session (mock)', sync, c, 0.95, 'C loop');

    step('HSM path, async, one session vs the default pool, in turns');
    const poolSessions = cliBench(card, ['--raw', '--ops', '1']).sessions;
    const [single, pool] = await alternate(3, [
      () => cliBench(card, ['--raw', '--sessions', '1', '--ops', '3000', '--concurrency', '64']),
      () => cliBench(card, ['--raw', '--ops', '5000', '--concurrency', '64']),
    ]);
    table.info('HSM async, 1 session (CPU-bound mock)', single);
    table.atLeast(`HSM async pool, ${poolSessions} sessions (default)`, pool, single, 1.8, '1 session');

    step('a fast card: signing threads and the default pool against the C loop on every core, in turns');
    const cores = availableParallelism();
    const threads = ['--sign-threads', String(cores)];
    let threadsLoopP99 = 0;
    const onThreads = (args) => {
      const result = cliBench(card, [...threads, ...args]);
      threadsLoopP99 = Math.max(threadsLoopP99, result.loopDelayP99Ms);
      return result;
    };
    const [everyCore, onWorkers, poolDigests, threadDigests, threadMessages] = await alternate(3, [
      () => cLoopOnEveryCore(card, 25_000),
      () => syncCallsOnWorkers(cores),
      () => cliBench(card, ['--raw', '--ops', '5000', '--concurrency', '64']),
      // two seconds or so each: half-second runs swung with the threads' start-up from run to run
      () => onThreads(['--raw', '--ops', '100000', '--warmup', '5000', '--concurrency', '64']),
      () => onThreads(['--ops', '100000', '--warmup', '5000', '--concurrency', '64']),
    ]);
    const reference = `C loop x ${cores}`;
    table.info(`C loop (sdf-loop), ${cores} processes side by side (every core)`, everyCore);
    table.info(`  sync calls through koffi on ${cores} worker threads, no event loop (the ceiling)`, onWorkers);
    table.info('HSM pool (default), signDigest', poolDigests);
    table.atLeast(`HSM ${cores} signing threads, signDigest`, threadDigests, everyCore, 0.8, reference);
    table.atLeast(`HSM ${cores} signing threads, sign(message)`, threadMessages, everyCore, 0.8, reference);
    table.below('  event-loop p99 on signing threads, 64 in flight (worst run)', threadsLoopP99, 10, 'ms');

    step('what the defences against untrusted libraries cost the pool, in turns');
    addDefenceRows(table, await measureDefences(card, 3));

    step('digest on the host vs in the device, in turns');
    const [device, host] = await alternate(2, [
      () => cliBench(card, ['--sessions', '1', '--digest-on', 'device', '--ops', '2000', '--concurrency', '16']),
      () => cliBench(card, ['--sessions', '1', '--digest-on', 'host', '--ops', '2000', '--concurrency', '16']),
    ]);
    table.info('sign(message), SM3(Z||M) in the device, 1 session', device);
    table.atLeast('sign(message), SM3(Z||M) on the host (default)', host, device, 1, 'device');

    step('C loop on the emulated 5 ms device (the per-session ceiling: 5 ms and the wake-up after it)');
    const slow = cLoop(card, 300, slowDeviceEnv(1));
    table.info('C loop, 5 ms device, 1 session', slow.ops / slow.seconds);
    for (const sessions of [8, 32, 64]) {
      step(`emulated 5 ms device, ${sessions} sessions, ${IN_FLIGHT} signs in flight`);
      const ideal = slowDeviceCeiling(sessions);
      const ops = String(Math.round(2 * ideal)); // about two seconds at the target rate
      const r = cliBench(
        card,
        ['--raw', '--sessions', String(sessions), '--ops', ops, '--concurrency', String(IN_FLIGHT)],
        slowDeviceEnv(sessions),
      );
      table.atLeast(`5 ms device, ${sessions} sessions`, r.opsPerSecond, ideal, 0.8, `${sessions}/5ms`);
      table.below(`  event-loop p99, ${IN_FLIGHT} in flight`, r.loopDelayP99Ms, 10, 'ms');
    }

    step('software SM2: gmt0018, openssl speed, sm-crypto, sm-crypto-v2, in turns');
    const sw = await measureSoftware();
    const ossl = sw.openssl;
    table.info('sm-crypto sign', sw.smCrypto.sign);
    table.info('sm-crypto-v2 sign', sw.smCryptoV2.sign);
    table.info('OpenSSL C sign (openssl speed sm2)', ossl.sign);
    table.atLeast('gmt0018 software sign', sw.gmt0018.sign, sw.smCrypto.sign, 40, 'sm-crypto');
    table.atLeast('gmt0018 software sign', sw.gmt0018.sign, ossl.sign, 0.8, 'OpenSSL');
    table.info('sm-crypto verify', sw.smCrypto.verify);
    table.info('sm-crypto-v2 verify', sw.smCryptoV2.verify);
    table.info('OpenSSL C verify (openssl speed sm2)', ossl.verify);
    table.atLeast('gmt0018 verify, repeated key', sw.gmt0018.verify, sw.smCrypto.verify, 30, 'sm-crypto');
    table.atLeast('gmt0018 verify, repeated key', sw.gmt0018.verify, sw.smCryptoV2.verify, 5, 'sm-crypto-v2');

    step('software SM2 over many keys (issue 20): key tables in turns with none; distinct keys vs OpenSSL');
    addVerifyKeyRows(table, await measureVerifyKeys({ step }));

    step(`memory: ${memoryOps.toLocaleString('en-US')} signs through the pool`);
    // The warm-up lets V8 settle its heap sizes (the young generation grows to 2 x 16 MiB under
    // load once), so that the growth measured is what the signs themselves leave behind.
    const warmup = String(Math.max(1000, Math.round(memoryOps / 10)));
    const mem = cliBench(card, ['--ops', String(memoryOps), '--warmup', warmup, '--concurrency', '64']);
    table.below(
      `RSS growth over ${memoryOps.toLocaleString('en-US')} signs`,
      mem.rssEndMiB - mem.rssStartMiB,
      10,
      'MiB',
    );

    step('PKCS#11 on SoftHSM: gmt0018 against pkcs11js, and the pool against one session, in turns');
    addPkcs11Rows(table, await measurePkcs11(3));

    step('remote signing service: 32 keep-alive clients on loopback');
    addRemoteRows(table, await benchRemote({ card, step }));

    const after = await sessionsLeftAfterClose(card);
    table.equal('mock sessions open after close()', after.openSessions, 0);
    table.equal('mock devices open after close()', after.openDevices, 0);
  } finally {
    card.remove();
  }
  process.stdout.write(`${table.toMarkdown()}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
