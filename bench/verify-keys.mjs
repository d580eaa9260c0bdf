#!/usr/bin/env node
// Verification over many keys (issue 20): sm2Verify over streams of signatures from K distinct
// keys (uniform order, and a Zipf(1.0) stream over 10,000 keys), each second of each stream set
// against the verification rate with no key tables at all, measured in turns of 25 ms around it;
// then distinct-key and repeated-key verification and hedged signing against `openssl speed sm2`.
//   node bench/verify-keys.mjs [--seconds N]     (after npm run build:mock && npm run build)
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { alternate, opensslSpeed, timed } from './measure.mjs';
import { gm } from './setup.mjs';
import { Table } from './table.mjs';
import { signedKeys } from './verify-keys-data.mjs';

const KEYS = 100_000;
const ZIPF_KEYS = 10_000;
const UNCACHED_KEYS = 4096;
const STREAM_LENGTH = 1 << 18;

/** Verifies items[order[i]] in turn for `ms`; → { ops, seconds }. Throws on a wrong answer. */
function runSlice(items, order, cursor, ms) {
  let n = 0;
  const start = performance.now();
  let elapsed;
  do {
    for (let j = 0; j < 16; j++) {
      const it = items[order[cursor.at++ % order.length]];
      if (!gm.sm2Verify(it.publicKey, it.message, it.signature)) throw new Error('a valid signature failed');
    }
    n += 16;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return { ops: n, seconds: elapsed / 1000 };
}

// Each stream runs in a worker of its own and the reference (no tables) in another: each has its
// own copy of the library and its cache, and the two are alike but for the cache. They take turns:
// the main thread asks one, waits for it, then asks the other.
if (!isMainThread) {
  const { items } = workerData;
  let order = Int32Array.from({ length: items.length }, (_, i) => i);
  const cursor = { at: 0 };
  parentPort.on('message', ({ op, value }) => {
    if (op === 'configure') {
      gm.configureKeyTableCache({ capacity: value.capacity });
      order = value.order ?? order;
      cursor.at = 0;
      parentPort.postMessage(null);
    } else if (op === 'slice') {
      parentPort.postMessage(runSlice(items, order, cursor, value));
    } else if (op === 'stats') {
      parentPort.postMessage(gm.keyTableCacheStats());
    }
  });
}

function verifier(items, capacity) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { items } });
  let pending = null;
  worker.on('message', (value) => pending.resolve(value));
  worker.on('error', (error) => pending?.reject(error));
  const ask = (op, value) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      worker.postMessage({ op, value });
    });
  return {
    /** A fresh cache of `capacity` tables (or `tables`) and a new order to verify the items in. */
    start: (order, tables = capacity) => ask('configure', { capacity: tables, order }),
    slice: (ms) => ask('slice', ms),
    stats: () => ask('stats'),
    close: () => worker.terminate(),
  };
}

function uniformOrder(keys) {
  return Int32Array.from({ length: STREAM_LENGTH }, () => Math.floor(Math.random() * keys));
}

function zipfOrder(keys, exponent = 1) {
  const cumulative = new Float64Array(keys);
  let total = 0;
  for (let i = 0; i < keys; i++) cumulative[i] = total += 1 / (i + 1) ** exponent;
  return Int32Array.from({ length: STREAM_LENGTH }, () => {
    const u = Math.random() * total;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

/**
 * One stream with a fresh cache, for `seconds` seconds of its own time: each second is 40 slices
 * of 25 ms, each followed by 25 ms of the reference on the same order of keys, so that load from
 * other processes falls on both alike. → each second's rate against the reference's, the means.
 * How far apart two seconds of the same work still fall shows in the control row (no tables on
 * either side).
 */
async function measureStream(stream, reference, order, seconds, tables = undefined) {
  await stream.start(order, tables);
  await reference.start(order);
  const seconds_ = [];
  for (let s = 0; s < seconds; s++) {
    const cached = { ops: 0, seconds: 0 };
    const plain = { ops: 0, seconds: 0 };
    for (let turn = 0; turn < 40; turn++) {
      for (const [who, total] of [
        [stream, cached],
        [reference, plain],
      ]) {
        const { ops, seconds: t } = await who.slice(25);
        total.ops += ops;
        total.seconds += t;
      }
    }
    const cachedRate = cached.ops / cached.seconds;
    const around = plain.ops / plain.seconds;
    seconds_.push({ cachedRate, around, ratio: cachedRate / around });
    if (process.env.VERIFY_KEYS_DEBUG)
      process.stderr.write(`  ${s}: ${cachedRate.toFixed(0)} vs ${around.toFixed(0)}\n`);
  }
  const sum = (f) => seconds_.reduce((a, x) => a + f(x), 0);
  return {
    worst: seconds_.reduce((a, x) => (x.ratio < a.ratio ? x : a)),
    meanRatio: sum((x) => x.cachedRate) / sum((x) => x.around),
    stats: await stream.stats(),
  };
}

export async function measureVerifyKeys({ seconds = 4, rounds = 2, step = () => {} } = {}) {
  step(`verify-keys: ${KEYS.toLocaleString('en-US')} keys with a signature each`);
  const items = signedKeys(KEYS);
  const streams = [
    ['1 key', uniformOrder(1)],
    ['64 keys, uniform', uniformOrder(64)],
    ['1,000 keys, uniform', uniformOrder(1000)],
    ['100,000 keys, uniform', uniformOrder(KEYS)],
    ['Zipf(1.0) over 10,000 keys', zipfOrder(ZIPF_KEYS)],
  ];
  const results = [];
  const stream = verifier(items, 1024);
  const reference = verifier(items, 0);
  try {
    step('verify-keys: warming up both workers');
    await measureStream(stream, reference, streams[1][1], 1);
    for (const [name, order] of streams) {
      step(`verify-keys: ${name}, ${seconds} s with key tables, in turns (25 ms) with ${seconds} s without`);
      results.push({ name, ...(await measureStream(stream, reference, order, seconds)) });
    }
    step(`verify-keys: control, 1,000 keys with no tables on either side`);
    results.control = await measureStream(stream, reference, streams[2][1], seconds, 0);
  } finally {
    await Promise.all([stream.close(), reference.close()]);
  }

  step('verify-keys: distinct keys (no tables), one repeated key, hedged signing, openssl speed sm2, in turns');
  const signer = gm.generatePrivateKey();
  const signerPublic = gm.publicKeyFromPrivateKey(signer);
  const distinctItems = items.slice(0, UNCACHED_KEYS);
  const [first] = items;
  let at = 0;
  let openssl = null;
  const [distinct, repeated, sign, opensslSign, opensslVerify] = await alternate(rounds, [
    () => {
      gm.configureKeyTableCache({ capacity: 0 });
      return timed(
        () => {
          const it = distinctItems[at++ % distinctItems.length];
          gm.sm2Verify(it.publicKey, it.message, it.signature);
        },
        { ms: 1000 },
      );
    },
    () => {
      gm.configureKeyTableCache({ capacity: 1024 });
      return timed(() => gm.sm2Verify(first.publicKey, first.message, first.signature), { ms: 1000 });
    },
    () => timed(() => gm.sm2Sign(signer, first.message, { publicKey: signerPublic }), { ms: 1000 }),
    () => {
      openssl = opensslSpeed(); // one run gives both figures, 2 s each
      return { ops: openssl.sign * 2, seconds: 2 };
    },
    () => ({ ops: openssl.verify * 2, seconds: 2 }),
  ]);
  return { streams: results, control: results.control, distinct, repeated, sign, opensslSign, opensslVerify };
}

const fmt = (x, digits = 2) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function addVerifyKeyRows(table, r) {
  table.info('verify, distinct keys, no key tables (reference)', r.distinct);
  for (const s of r.streams) {
    table.atLeast(
      `verify, ${s.name}: worst second (mean ${fmt(s.meanRatio)} x, ${s.stats.tables} tables)`,
      s.worst.cachedRate,
      s.worst.around,
      0.95,
      'no tables, in turns',
    );
  }
  table.info(
    `  control, 1,000 keys, no tables either side: worst second ${fmt(r.control.worst.ratio)} x, mean ${fmt(r.control.meanRatio)} x`,
    r.control.worst.cachedRate,
  );
  const k1000 = r.streams.find((s) => s.name.startsWith('1,000')).stats;
  table.below(
    `  key-table cache after 1,000 keys (${k1000.tables} x 5,544 B + sketch)`,
    (k1000.tableBytes + k1000.sketchBytes) / 2 ** 20,
    8,
    'MiB',
  );
  table.info('OpenSSL C verify (openssl speed sm2)', r.opensslVerify);
  table.atLeast('gmt0018 verify, distinct keys (no tables)', r.distinct, r.opensslVerify, 0.5, 'OpenSSL');
  table.atLeast('gmt0018 verify, distinct keys: stretch', r.distinct, r.opensslVerify, 1.0, 'OpenSSL');
  table.atLeast('gmt0018 verify, repeated key (key table)', r.repeated, r.opensslVerify, 1.0, 'OpenSSL');
  table.info('OpenSSL C sign (openssl speed sm2)', r.opensslSign);
  table.atLeast('gmt0018 software sign, hedged nonce', r.sign, r.opensslSign, 1.8, 'OpenSSL');
}

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 4);
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new Error('--seconds must be a positive integer');
  const table = new Table();
  addVerifyKeyRows(
    table,
    await measureVerifyKeys({ seconds, step: (text) => process.stderr.write(`bench: ${text}\n`) }),
  );
  process.stdout.write(`${table.toMarkdown()}\n`);
}
