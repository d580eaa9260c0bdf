#!/usr/bin/env node
// What the defences against untrusted SDF libraries cost on the hot path: the HSM pool signing
// digests on the CPU-bound mock (no latency, so the binding's own work shows), with each defence
// on and off, measured in turns within one run.
//   node bench/defences.mjs     (after npm run build:mock && npm run build)
import { pathToFileURL } from 'node:url';
import { alternate, signDigestRate } from './measure.mjs';
import { createBenchCard, gm } from './setup.mjs';
import { Table } from './table.mjs';

/** Signatures per second of one signer with `opts`, opened for the measurement. */
async function poolRate(card, opts) {
  const signer = await gm.createSigner(card.configPath, opts);
  try {
    return await signDigestRate(signer);
  } finally {
    await signer.close();
  }
}

/** Rows of the four configurations, each against the pool with no deadline and no checks. */
export async function measureDefences(card, rounds = 5) {
  const [bare, deadlines, verified, serial] = await alternate(rounds, [
    () => poolRate(card, { library: { callTimeoutMs: 0 } }),
    () => poolRate(card, {}),
    () => poolRate(card, { verifySignatures: true }),
    () => poolRate(card, { library: { threadModel: 'serial' } }),
  ]);
  return { bare, deadlines, verified, serial };
}

export function addDefenceRows(table, { bare, deadlines, verified, serial }) {
  table.info('HSM pool, no call deadline', bare);
  table.atLeast('HSM pool, call deadlines (default)', deadlines, bare, 0.95, 'no deadline');
  table.info(`  verifySignatures: true (${((1 - verified / deadlines) * 100).toFixed(0)} % less)`, verified);
  table.info(`  hsm_thread_model=serial (${((1 - serial / deadlines) * 100).toFixed(0)} % less)`, serial);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const card = createBenchCard();
  try {
    const table = new Table();
    addDefenceRows(table, await measureDefences(card));
    process.stdout.write(`${table.toMarkdown()}\n`);
  } finally {
    card.remove();
  }
}
