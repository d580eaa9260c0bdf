// Ways of taking one figure: a timed loop in this process, a child process, a native tool.
import { execFile, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { CLI, KEY_INDEX, PASSWORD, SDF_LOOP } from './setup.mjs';

/** Calls `fn` repeatedly for about `ms` milliseconds (after `warmup` calls). */
export function timed(fn, { ms = 1500, warmup = 20 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  let n = 0;
  const start = performance.now();
  let elapsed;
  do {
    fn();
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return { ops: n, seconds: elapsed / 1000 };
}

export function rate(fn, opts) {
  const { ops, seconds } = timed(fn, opts);
  return ops / seconds;
}

/**
 * Signatures per second of `signer.signDigest` with `inFlight` digests in flight for `ms`
 * milliseconds, in the { ops, seconds } form `alternate` pools.
 */
export async function signDigestRate(signer, { inFlight = 64, ms = 1000 } = {}) {
  const digest = new Uint8Array(32).fill(0x5a);
  let ops = 0;
  const started = performance.now();
  const until = started + ms;
  const worker = async () => {
    while (performance.now() < until) {
      await signer.signDigest(digest);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { ops, seconds: (performance.now() - started) / 1000 };
}

/**
 * Runs the measurements `rounds` times in turn and pools each one's ops and seconds, so that
 * load from other processes on a shared machine falls on all of them alike. → ops/s of each.
 */
export async function alternate(rounds, measurements) {
  const totals = measurements.map(() => ({ ops: 0, seconds: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (const [i, measure] of measurements.entries()) {
      const { ops, seconds } = await measure();
      totals[i].ops += ops;
      totals[i].seconds += seconds;
    }
  }
  return totals.map(({ ops, seconds }) => ops / seconds);
}

function run(command, args, env) {
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** `gmt0018 bench --json` in a child, so that UV_THREADPOOL_SIZE and the mock's env apply. */
export function cliBench(card, args, env = {}) {
  const out = run(
    process.execPath,
    ['--expose-gc', CLI, 'bench', '--config', card.configPath, '--json', ...args],
    card.env(env),
  );
  return JSON.parse(out);
}

/** The native baseline: N signs on one session from C. */
export function cLoop(card, n, env = {}) {
  const out = run(SDF_LOOP, [String(KEY_INDEX), PASSWORD, String(n)], card.env(env));
  const match = /(\d+) signs in ([\d.]+) s/.exec(out);
  if (!match) throw new Error(`sdf-loop printed no rate: ${out}`);
  return { ops: Number(match[1]), seconds: Number(match[2]) };
}

/**
 * The native baseline on every core: one sdf-loop process per core, side by side, each signing `n`
 * times on a session of its own → all their signatures over the longest one's time.
 */
export async function cLoopOnEveryCore(card, n) {
  const loops = Array.from(
    { length: availableParallelism() },
    () =>
      new Promise((resolve, reject) => {
        execFile(SDF_LOOP, [String(KEY_INDEX), PASSWORD, String(n)], { env: card.env({}) }, (error, stdout) => {
          const match = /(\d+) signs in ([\d.]+) s/.exec(stdout);
          if (error || !match) reject(error ?? new Error(`sdf-loop printed no rate: ${stdout}`));
          else resolve({ ops: Number(match[1]), seconds: Number(match[2]) });
        });
      }),
  );
  const results = await Promise.all(loops);
  return {
    ops: results.reduce((sum, { ops }) => sum + ops, 0),
    seconds: Math.max(...results.map(({ seconds }) => seconds)),
  };
}

/** OpenSSL's C SM2 on this machine: { sign, verify } per second. */
export function opensslSpeed() {
  const out = run('openssl', ['speed', '-seconds', '2', 'sm2'], process.env);
  const match = /SM2[^\n]*?\s([\d.]+)\s+([\d.]+)\s*$/m.exec(out);
  if (!match) throw new Error(`cannot read openssl speed output: ${out}`);
  return { sign: Number(match[1]), verify: Number(match[2]) };
}
