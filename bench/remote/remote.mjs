// The signing service against the in-process signer: 32 keep-alive clients on loopback.
// `benchRemote({ card })` returns rows for bench/table.mjs (see addRemoteRows); run this file alone
// (`node bench/remote/remote.mjs`, after `npm run build:mock && npm run build`) for its own table.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliBench } from '../measure.mjs';
import { CLI, createBenchCard, gm, LATENCY_US, slowDeviceCeiling, slowDeviceEnv } from '../setup.mjs';

export const CLIENTS = 32;
export const SESSIONS = 32;
// A benchmark-only token for a service bound to 127.0.0.1 for the length of the run.
export const TOKEN = 'bench-remote-token';
// A fresh service runs its request path cold for its first thousands of requests (V8 has not yet
// optimised it, and its compile threads share the two cores with the load): measured after
// 200 ms, the 5 ms row came out 5-10 % below the same service a few seconds later. Every signer is
// driven this long, unmeasured, before its rows are taken.
export const WARMUP_MS = 3000;

export function softwareNode() {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-bench-remote-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'node.pem'), gm.privateKeyToPem(gm.generatePrivateKey()));
  const configPath = join(dir, 'config.ini');
  writeFileSync(configPath, '[security]\nprivate_key_path=conf/node.pem\n');
  return { configPath, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `gmt0018 serve` in a child process (its own event loop, as in production); resolves with its URL. */
export function startServe(configPath, env = {}) {
  return startListening([CLI, 'serve', '--config', configPath, '--listen', '127.0.0.1:0', '--log-level', 'warn'], {
    GMT0018_SERVE_TOKEN: TOKEN,
    ...env,
  });
}

/** `node argv…` in a child process that prints "listening on URL" to stderr; → { url, stop }. */
export function startListening(argv, env = {}) {
  const child = spawn(process.execPath, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on (\S+)/.exec(stderr);
      if (match) {
        resolve({
          url: match[1],
          stop: () =>
            new Promise((done) => {
              child.once('exit', done);
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.trim()}`)));
  });
}

export const MESSAGE = new TextEncoder().encode(
  'a block header of about a hundred bytes, signed by its sealer, again and again',
);

/**
 * Each function of `clients` called back to back, all at once, for `warmupMs` unmeasured and then
 * for `ms`; → ops, seconds and each call's latency.
 */
export async function driveClients(clients, { ms, warmupMs = 200 }) {
  const loop = async (one, until, latencies) => {
    while (performance.now() < until) {
      const start = performance.now();
      await one();
      latencies?.push(performance.now() - start);
    }
  };
  await Promise.all(clients.map((one) => loop(one, performance.now() + warmupMs)));
  const latencies = [];
  const start = performance.now();
  await Promise.all(clients.map((one) => loop(one, start + ms, latencies)));
  return { ops: latencies.length, seconds: (performance.now() - start) / 1000, latencies };
}

/** `clients` loops signing MESSAGE back to back for `ms`, then one signature checked. */
async function drive(signer, { ms, clients = CLIENTS, warmupMs = 200 }) {
  const run = await driveClients(
    Array.from({ length: clients }, () => () => signer.sign(MESSAGE)),
    { ms, warmupMs },
  );
  // One signature checked, so a failure path is never what is being timed.
  if (!(await signer.verify(MESSAGE, await signer.sign(MESSAGE)))) throw new Error('signature does not verify');
  return run;
}

/** Pools several runs of drive: ops/s and latency percentiles. */
function summary(runs) {
  const latencies = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  return { opsPerSecond: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/**
 * Runs `use(unverified, verified)` against `gmt0018 serve` started on `configPath`: two clients,
 * one with `verifySignatures: false` (what the service itself serves: the targets) and one as
 * clients are by default, checking every signature (about 0.4 ms of the client's CPU each, on
 * the cores the service uses too: bench/remote/verify-cost.mjs).
 */
async function withService(configPath, env, use) {
  const server = await startServe(configPath, env);
  try {
    const connect = (verifySignatures) =>
      gm.createRemoteSigner({ url: server.url, token: TOKEN, connections: CLIENTS, verifySignatures });
    const signers = [await connect(false), await connect(true)];
    try {
      for (const signer of signers) await drive(signer, { ms: WARMUP_MS });
      return await use(...signers);
    } finally {
      await Promise.all(signers.map((signer) => signer.close()));
    }
  } finally {
    await server.stop();
  }
}

function latencyRow(result) {
  return {
    kind: 'info',
    name: '  latency p50 / p99',
    value: `${result.p50Ms.toFixed(2)} / ${result.p99Ms.toFixed(2)}`,
    unit: 'ms',
  };
}

/**
 * Rows: { kind: 'info' | 'atLeast', name, value, unit, reference?, min?, refName? }, in the
 * argument order of Table#info / Table#atLeast.
 */
export async function benchRemote({ card, ms = 1000, rounds = 3, step = () => {} } = {}) {
  const rows = [];
  const node = softwareNode();
  try {
    step(`software signer in process vs through gmt0018 serve, ${CLIENTS} keep-alive clients, in turns`);
    const local = await gm.createSigner(node.configPath);
    await drive(local, { ms: WARMUP_MS });
    const [inProcess, remote, verified] = await withService(node.configPath, {}, async (signer, verifying) => {
      const runs = [[], [], []];
      for (let r = 0; r < rounds; r++) {
        runs[0].push(await drive(local, { ms }));
        runs[1].push(await drive(signer, { ms }));
        runs[2].push(await drive(verifying, { ms }));
      }
      return runs.map(summary);
    }).finally(() => local.close());
    rows.push({ kind: 'info', name: 'software signer, in process', value: inProcess.opsPerSecond, unit: 'ops/s' });
    rows.push({
      kind: 'atLeast',
      name: `remote, software backend, ${CLIENTS} clients (client check off)`,
      value: remote.opsPerSecond,
      reference: inProcess.opsPerSecond,
      min: 0.6,
      refName: 'in process',
      unit: 'ops/s',
    });
    rows.push(latencyRow(remote));
    rows.push(verifiedRow(`remote, software backend, ${CLIENTS} clients, signatures verified`, verified));
  } finally {
    node.remove();
  }

  const deviceEnv = slowDeviceEnv(SESSIONS);
  step(`in-process signer (mock card, ${LATENCY_US / 1000} ms per call, ${SESSIONS} sessions), ${CLIENTS} in flight`);
  const direct = cliBench(
    card,
    ['--raw', '--sessions', String(SESSIONS), '--ops', '4000', '--concurrency', String(CLIENTS)],
    deviceEnv,
  );
  rows.push({
    kind: 'info',
    name: `5 ms device, ${SESSIONS} sessions, in process`,
    value: direct.opsPerSecond,
    unit: 'ops/s',
  });

  step(`gmt0018 serve (mock card, ${LATENCY_US / 1000} ms per call, ${SESSIONS} sessions), ${CLIENTS} clients`);
  const [mock, mockVerified] = await withService(card.configPath, card.env(deviceEnv), async (signer, verifying) => {
    const runs = [[], []];
    for (let r = 0; r < rounds; r++) {
      runs[0].push(await drive(signer, { ms }));
      runs[1].push(await drive(verifying, { ms }));
    }
    return runs.map(summary);
  });
  rows.push({
    kind: 'atLeast',
    name: `remote, 5 ms device, ${SESSIONS} sessions, ${CLIENTS} clients (client check off)`,
    value: mock.opsPerSecond,
    reference: slowDeviceCeiling(SESSIONS),
    min: 0.8,
    refName: `${SESSIONS}/5ms`,
    unit: 'ops/s',
  });
  rows.push(latencyRow(mock));
  rows.push(
    verifiedRow(`remote, 5 ms device, ${SESSIONS} sessions, ${CLIENTS} clients, signatures verified`, mockVerified),
  );
  return rows;
}

/** The default client's rate: every signature verified, on the cores the service uses too. */
function verifiedRow(name, result) {
  return { kind: 'info', name, value: result.opsPerSecond, unit: 'ops/s' };
}

/** Adds the rows of benchRemote to a bench/table.mjs Table. */
export function addRemoteRows(table, rows) {
  for (const row of rows) {
    if (row.kind === 'atLeast') table.atLeast(row.name, row.value, row.reference, row.min, row.refName, row.unit);
    else table.info(row.name, row.value, row.unit);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { Table } = await import('../table.mjs');
  const card = createBenchCard();
  try {
    const table = new Table();
    addRemoteRows(table, await benchRemote({ card, step: (text) => process.stderr.write(`bench: ${text}\n`) }));
    process.stdout.write(`${table.toMarkdown()}\n`);
  } finally {
    card.remove();
  }
}
