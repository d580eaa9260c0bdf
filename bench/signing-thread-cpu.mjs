#!/usr/bin/env node
// Where the CPU of a signature goes with signing threads (issue 20): the mock card signed through
// 2 signing threads for 3 s, digests and then 128-byte messages, and each thread's CPU time
// (Linux: /proc/self/task) divided by the signatures made. The event loop's share is what the
// host does per signature; the signing threads' is the card's call and the hand-over.
//   node bench/signing-thread-cpu.mjs     (after npm run build:mock && npm run build)
import { readdirSync, readFileSync } from 'node:fs';
import { createBenchCard, gm } from './setup.mjs';

const TICK_MS = 10; // USER_HZ 100

/** CPU milliseconds of each thread of this process, by thread id. */
function threadCpu() {
  const cpu = new Map();
  for (const id of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(id, (Number(fields[11]) + Number(fields[12])) * TICK_MS);
  }
  return cpu;
}

async function measure(signer, sign, ms = 3000) {
  const before = threadCpu();
  let signatures = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < until) {
        await sign();
        signatures++;
      }
    }),
  );
  const after = threadCpu();
  const perSignature = (id) => ((after.get(id) - (before.get(id) ?? 0)) * 1000) / signatures;
  const eventLoop = String(process.pid);
  const busy = [...after.keys()].filter((id) => id !== eventLoop && perSignature(id) > 1);
  return {
    perSecond: Math.round(signatures / (ms / 1000)),
    eventLoopUs: perSignature(eventLoop).toFixed(1),
    signingThreadsUs: busy.reduce((sum, id) => sum + perSignature(id), 0).toFixed(1),
  };
}

const card = createBenchCard();
const signer = await gm.createSigner(card.configPath, { signThreads: 2 });
try {
  const digest = new Uint8Array(32).fill(7);
  const message = new Uint8Array(128).fill(3);
  await measure(signer, () => signer.signDigest(digest), 500); // warm-up
  const digests = await measure(signer, () => signer.signDigest(digest));
  const messages = await measure(signer, () => signer.sign(message));
  console.log('| signing | signatures/s | event-loop CPU µs a signature | signing threads CPU µs a signature |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, r] of [
    ['signDigest', digests],
    ['sign(128-byte message)', messages],
  ]) {
    console.log(`| ${name} | ${r.perSecond} | ${r.eventLoopUs} | ${r.signingThreadsUs} |`);
  }
} finally {
  await signer.close();
}
