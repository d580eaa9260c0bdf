// Where the time of the remote 5 ms row goes on this machine. The same mock card (5 ms per call,
// 32 sessions) behind `gmt0018 serve`, driven by three clients of decreasing weight:
// createRemoteSigner (the bench row), bare undici dispatch, and raw sockets writing one fixed
// request; then behind a bare node:http server (bare-server.mjs) driven by raw sockets, the most
// an HTTP service in Node could show here. All in turns, 32 connections each, one request in
// flight per connection. Run alone, after `npm run build:mock && npm run build`:
//   node bench/remote/ceiling.mjs [--ms 3000] [--rounds 3]
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBenchCard, gm, ROOT, slowDeviceCeiling, slowDeviceEnv } from '../setup.mjs';
import { CLIENTS, driveClients, MESSAGE, SESSIONS, startListening, startServe, TOKEN, WARMUP_MS } from './remote.mjs';

const { Pool } = createRequire(import.meta.url)('undici');
const { values } = parseArgs({ options: { ms: { type: 'string' }, rounds: { type: 'string' } } });
const MS = Number(values.ms ?? 3000);
const ROUNDS = Number(values.rounds ?? 3);
const DIGEST = 'a5'.repeat(32);
const BODY = JSON.stringify({ digest: DIGEST });
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
/** ops/s of `clients` signing back to back for `ms`, after 300 ms unmeasured. */
async function rate(clients, ms) {
  const run = await driveClients(clients, { ms, warmupMs: 300 });
  return run.ops / run.seconds;
}

async function remoteSignerClients(url) {
  const signer = await gm.createRemoteSigner({ url, token: TOKEN, connections: CLIENTS });
  return { clients: Array.from({ length: CLIENTS }, () => () => signer.sign(MESSAGE)), close: () => signer.close() };
}

function undiciClients(url) {
  const pool = new Pool(url, { connections: CLIENTS });
  const one = () =>
    new Promise((resolve, reject) => {
      let status = 0;
      pool.dispatch(
        { method: 'POST', path: '/v1/sign', headers: HEADERS, body: BODY },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData() {},
          onResponseEnd() {
            if (status === 200) resolve();
            else reject(new Error(`HTTP ${status}`));
          },
          onResponseError(_controller, error) {
            reject(error);
          },
        },
      );
    });
  return { clients: Array.from({ length: CLIENTS }, () => one), close: () => pool.close() };
}

/** A socket writing one fixed request and reading its answer (status line and content-length only). */
async function rawSocketClient(url) {
  const { hostname, port } = new URL(url);
  const request = Buffer.from(
    `POST /v1/sign HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: ${HEADERS.authorization}\r\n` +
      `content-type: application/json\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`,
  );
  const socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let pending = null;
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    const headEnd = buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = buffered.subarray(0, headEnd).toString('latin1');
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (buffered.length < headEnd + 4 + length) return;
    buffered = buffered.subarray(headEnd + 4 + length);
    const done = pending;
    pending = null;
    if (head.startsWith('HTTP/1.1 200')) done.resolve();
    else done.reject(new Error(head.split('\r\n')[0]));
  });
  return {
    one: () =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(request);
      }),
    close: () => socket.destroy(),
  };
}

async function rawClients(url) {
  const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => rawSocketClient(url)));
  return { clients: sockets.map((s) => s.one), close: () => sockets.forEach((s) => s.close()) };
}

const card = createBenchCard();
const deviceEnv = card.env(slowDeviceEnv(SESSIONS));
const serve = await startServe(card.configPath, deviceEnv);
const bare = await startListening([join(ROOT, 'bench', 'remote', 'bare-server.mjs'), card.configPath], deviceEnv);
const setups = [
  ['gmt0018 serve, createRemoteSigner clients (the bench row)', () => remoteSignerClients(serve.url)],
  ['gmt0018 serve, bare undici dispatch', () => undiciClients(serve.url)],
  ['gmt0018 serve, raw sockets', () => rawClients(serve.url)],
  ['bare node:http server, raw sockets', () => rawClients(bare.url)],
];
try {
  process.stderr.write('ceiling: warming both servers up\n');
  for (const url of [serve.url, bare.url]) {
    const { clients, close } = await rawClients(url);
    await rate(clients, WARMUP_MS).finally(close);
  }
  const results = setups.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [name, open]] of setups.entries()) {
      process.stderr.write(`ceiling: round ${round + 1}/${ROUNDS}, ${name}\n`);
      const { clients, close } = await open();
      try {
        results[i].push(await rate(clients, MS));
      } finally {
        await close();
      }
    }
  }
  const ideal = slowDeviceCeiling(SESSIONS);
  const lines = ['| setup | ops/s (median of rounds) | x 32/5ms |', '| --- | --- | --- |'];
  for (const [i, [name]] of setups.entries()) {
    const median = results[i].sort((a, b) => a - b)[Math.floor(results[i].length / 2)];
    lines.push(`| ${name} | ${Math.round(median).toLocaleString('en-US')} | ${(median / ideal).toFixed(2)} |`);
    process.stderr.write(`ceiling: ${name}: ${results[i].map(Math.round).join(', ')}\n`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await Promise.all([serve.stop(), bare.stop()]);
  card.remove();
}
