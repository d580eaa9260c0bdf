import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HsmSigner, Pkcs11Signer, type SignerOptions, type Signer } from '../../signer';
import { defineCommand, SIGNER_OPTIONS, UsageError } from '../command';
import { positiveInt } from '../input';
import { openSigner } from '../node-config';

interface LoadResult {
  ops: number;
  concurrency: number;
  seconds: number;
  opsPerSecond: number;
  /**
   * p99 and maximum of the event loop's delay while the load ran, in ms; null when the run was
   * too short for one sample. With signing on the main thread (software key) the loop may not
   * turn at all during the run: then the one sample is the whole run, taken when it ends.
   */
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
  /** Resident set size after the warm-up and at the end (after a GC when --expose-gc), MiB. */
  rssStartMiB: number;
  rssEndMiB: number;
}

const MiB = 1024 * 1024;

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage.rss() / MiB;
}

const SAMPLE_MS = 1;

/**
 * Resolves after the delay monitor's timer has fired once more (it fires first: it is due
 * sooner). It records the time since its last firing, so a load that never let the loop turn
 * (synchronous signing) is one sample as long as the run, taken here, and only if the monitor had
 * fired once before the run: its first firing sets the start and records nothing.
 */
function afterNextSample(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SAMPLE_MS + 1));
}

/**
 * Runs `task` `ops` times with at most `concurrency` calls in flight; `progress` hears how many
 * finished. The first `warmup` calls are run first and not counted.
 */
async function runLoad(
  task: () => Promise<unknown>,
  opts: { ops: number; concurrency: number; warmup: number; progress?: (done: number) => void },
): Promise<LoadResult> {
  const drive = async (count: number, onDone?: (done: number) => void) => {
    let started = 0;
    let done = 0;
    const worker = async () => {
      while (started < count) {
        started++;
        await task();
        onDone?.(++done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, count) }, worker));
  };
  await drive(opts.warmup);
  const rssStartMiB = rssMiB();
  const delay = monitorEventLoopDelay({ resolution: SAMPLE_MS });
  delay.enable();
  await afterNextSample();
  const start = process.hrtime.bigint();
  opts.progress?.(0);
  await drive(opts.ops, opts.progress);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await afterNextSample();
  delay.disable();
  const measured = delay.count > 0;
  return {
    ops: opts.ops,
    concurrency: opts.concurrency,
    seconds,
    opsPerSecond: opts.ops / seconds,
    loopDelayP99Ms: measured ? delay.percentile(99) / 1e6 : null,
    loopDelayMaxMs: measured ? delay.max / 1e6 : null,
    rssStartMiB,
    rssEndMiB: rssMiB(),
  };
}

/** A progress line on stderr: rewritten in place on a terminal, every 10 % otherwise. */
function progressReporter(total: number): { update: (done: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let start = Date.now();
  let lastShown = 0;
  let lastTenth = 0;
  const line = (done: number) => {
    const rate = Math.round(done / Math.max((Date.now() - start) / 1000, 1e-3));
    return `bench: ${done}/${total} signs, ${rate}/s`;
  };
  return {
    update(done) {
      if (done === 0) start = Date.now();
      else if (tty) {
        const now = Date.now();
        if (now - lastShown < 200 && done !== total) return;
        lastShown = now;
        process.stderr.write(`\r${line(done)}`);
      } else if (Math.floor((done * 10) / total) > lastTenth) {
        lastTenth = Math.floor((done * 10) / total);
        process.stderr.write(`${line(done)}\n`);
      }
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function signerOptions(values: { sessions?: string; 'sign-threads'?: string; 'digest-on'?: string }): SignerOptions {
  const opts: SignerOptions = {};
  if (values.sessions !== undefined) opts.sessions = positiveInt(values.sessions, '--sessions');
  if (values['sign-threads'] !== undefined) opts.signThreads = positiveInt(values['sign-threads'], '--sign-threads');
  const digestOn = values['digest-on'];
  if (digestOn !== undefined) {
    if (digestOn !== 'host' && digestOn !== 'device') {
      throw new UsageError(`--digest-on must be host or device, got ${digestOn}`);
    }
    opts.digestOn = digestOn;
  }
  return opts;
}

export const bench = defineCommand({
  name: 'bench',
  summary: 'measure signing throughput of the configured signer (HSM pool or software key)',
  options: {
    ...SIGNER_OPTIONS,
    ops: { type: 'string', value: 'N', default: '10000', description: 'signs to time' },
    concurrency: { type: 'string', value: 'C', default: '64', description: 'signs in flight at once' },
    sessions: {
      type: 'string',
      value: 'S',
      defaultNote: "the signer's",
      description: 'HSM or PKCS#11 sessions in the pool',
    },
    'sign-threads': {
      type: 'string',
      value: 'T',
      defaultNote: 'hsm_sign_threads or pkcs11_sign_threads',
      description: 'sign on T threads of their own, one session each, instead of the pool (fast devices)',
    },
    'digest-on': {
      type: 'string',
      value: 'host|device',
      default: 'host',
      description: 'where SM3(Z||M) is computed for an HSM key',
    },
    warmup: { type: 'string', value: 'W', defaultNote: 'min(1000, --ops)', description: 'signs first, not timed' },
    raw: { type: 'boolean', description: 'sign a ready 32-byte digest (device time only)' },
  },
  async run(values, out) {
    const ops = positiveInt(values.ops, '--ops');
    const concurrency = positiveInt(values.concurrency, '--concurrency');
    const warmup = values.warmup === undefined ? Math.min(1000, ops) : positiveInt(values.warmup, '--warmup');
    const signer: Signer = await openSigner(values, out, signerOptions(values));
    const sessions = signer instanceof HsmSigner || signer instanceof Pkcs11Signer ? signer.sessions : undefined;
    let result: LoadResult;
    try {
      // --raw signs a ready digest (device time only); otherwise messages go through SM3(Z||M).
      const digest = new Uint8Array(randomBytes(32));
      const message = new Uint8Array(randomBytes(128));
      const task = values.raw ? () => signer.signDigest(digest) : () => signer.sign(message);
      const progress = progressReporter(ops);
      result = await runLoad(task, { ops, concurrency, warmup, progress: progress.update });
      progress.end();
    } finally {
      await signer.close();
    }
    const round = (x: number, digits = 1) => Number(x.toFixed(digits));
    const data = {
      backend: signer.backend,
      sessions,
      ...result,
      seconds: round(result.seconds, 3),
      opsPerSecond: round(result.opsPerSecond),
      loopDelayP99Ms: result.loopDelayP99Ms === null ? null : round(result.loopDelayP99Ms, 2),
      loopDelayMaxMs: result.loopDelayMaxMs === null ? null : round(result.loopDelayMaxMs, 2),
      rssStartMiB: round(result.rssStartMiB),
      rssEndMiB: round(result.rssEndMiB),
    };
    out.result(
      [
        `backend:        ${signer.backend}${sessions === undefined ? '' : ` (${sessions} sessions)`}`,
        `signs:          ${ops} in ${data.seconds} s, ${concurrency} in flight`,
        `throughput:     ${data.opsPerSecond} signs/s`,
        data.loopDelayP99Ms === null
          ? 'event loop p99: not measured (no sample)'
          : `event loop p99: ${data.loopDelayP99Ms} ms (max ${data.loopDelayMaxMs} ms)`,
        `rss:            ${data.rssStartMiB} -> ${data.rssEndMiB} MiB`,
      ].join('\n'),
      data,
    );
  },
});
