import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createRemoteSigner, RemoteSignerError } from '../../src';
import { SDR } from '../../src/sdf';
import { startSigningServer, type SigningServer } from '../../src/server';
import { bytesToHex, generatePrivateKey, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';
import { smCryptoOracle } from '../helpers/oracles';

const TOKEN = 'faults-token-92b7';
const PASSWORD = 'card-password-11';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const software = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey });
const card = writeNodeFolder({
  security: `enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=3\npassword=${PASSWORD}`,
});
const message = new TextEncoder().encode('faults');

beforeAll(() => keystore.import(3, PASSWORD, privateKey));
afterEach(() => {
  mockControl().setFault(null, 0, 0, 0);
  mockControl().setLatencyUs(0);
});
afterAll(() => {
  keystore.remove();
  rmSync(software.dir, { recursive: true, force: true });
  rmSync(card.dir, { recursive: true, force: true });
});

function start(config: string, port = 0, extra: object = {}): Promise<SigningServer> {
  return startSigningServer({ config, port, token: TOKEN, log: false, ...extra });
}

/** POST /v1/sign of a one-byte message, straight through fetch (no client retries). */
function postSign(server: SigningServer): Promise<Response> {
  return fetch(`${server.url}/v1/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: '00' }),
  });
}

/** Every request either signed (and the signature verifies) or ended with a typed error; how many signed. */
function countSigned(outcomes: PromiseSettledResult<Uint8Array>[]): number {
  let signed = 0;
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') {
      expect(sm2Verify(publicKey, message, outcome.value)).toBe(true);
      signed++;
    } else {
      expect(outcome.reason).toBeInstanceOf(RemoteSignerError);
    }
  }
  return signed;
}

test('a server closed mid-stream and restarted on the same port: every request completes or fails typed', async () => {
  let server = await start(software.configPath);
  const port = Number(new URL(server.url).port);
  const signer = await createRemoteSigner({
    url: server.url,
    token: TOKEN,
    retry: { attempts: 9, baseDelayMs: 20 },
    timeoutMs: 10_000,
  });
  try {
    const requests: Promise<Uint8Array>[] = [];
    const fire = (n: number) => {
      for (let i = 0; i < n; i++) requests.push(signer.sign(message));
    };
    fire(8);
    await requests[0]; // connections are up and requests are in flight
    fire(8);
    const closing = server.close(); // stops accepting; requests in flight drain
    fire(8);
    await closing;
    fire(8);
    await new Promise((resolve) => setTimeout(resolve, 50));
    server = await start(software.configPath, port);
    fire(8);
    const outcomes = await Promise.allSettled(requests);
    expect(outcomes).toHaveLength(40);
    const signed = countSigned(outcomes);
    // The restart came well inside the retry budget, so nothing should have given up.
    expect(signed).toBe(40);
  } finally {
    await signer.close();
    await server.close();
  }
});

/** `gmt0018 serve` as a child process, so that it can be killed outright. */
function serveChild(listen: string): Promise<{ url: string; child: ChildProcess }> {
  const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--config', software.configPath, '--listen', listen, '--log-level', 'silent'],
    {
      env: { ...process.env, GMT0018_SERVE_TOKEN: TOKEN },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on (\S+)/.exec(stderr);
      if (match) resolve({ url: match[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

test('a server killed (SIGKILL) mid-stream and restarted: retries complete every request or fail typed', async () => {
  const first = await serveChild('127.0.0.1:0');
  const port = new URL(first.url).port;
  const signer = await createRemoteSigner({
    url: first.url,
    token: TOKEN,
    retry: { attempts: 11, baseDelayMs: 50 },
    timeoutMs: 10_000,
  });
  let second: ChildProcess | undefined;
  try {
    const requests = Array.from({ length: 24 }, () => signer.sign(message));
    await requests[0];
    const died = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await died;
    requests.push(...Array.from({ length: 8 }, () => signer.sign(message)));
    second = (await serveChild(`127.0.0.1:${port}`)).child;
    const outcomes = await Promise.allSettled(requests);
    const signed = countSigned(outcomes);
    expect(outcomes).toHaveLength(32);
    // The restart fits well inside the retry budget (about 11 s of backoff), so none gives up.
    expect(signed).toBe(32);
  } finally {
    await signer.close();
    first.child.kill('SIGKILL');
    second?.kill('SIGKILL');
  }
});

test('a 503 from the card is retried by the client; without retries it is a typed 503 with the SDR code', async () => {
  const server = await start(card.configPath);
  const patient = await createRemoteSigner({
    url: server.url,
    token: TOKEN,
    retry: { attempts: 3, baseDelayMs: 1 },
  });
  const impatient = await createRemoteSigner({ url: server.url, token: TOKEN, retry: { attempts: 1 } });
  try {
    mockControl().setFault('SDF_InternalSign_ECC', SDR.SDR_KEYNOTEXIST, 0, 1);
    expect(sm2Verify(publicKey, message, await patient.sign(message))).toBe(true);

    mockControl().setFault('SDF_InternalSign_ECC', SDR.SDR_KEYNOTEXIST, 0, 1);
    const error = await impatient.sign(message).catch((e) => e);
    expect(error).toBeInstanceOf(RemoteSignerError);
    expect(error).toMatchObject({ status: 503, code: 'SDR_KEYNOTEXIST' });
    expect(error.message).not.toContain(PASSWORD);
  } finally {
    await patient.close();
    await impatient.close();
    await server.close();
  }
});

test('close() with a request in flight: it is answered with Connection: close, and close() does not wait on the idle connection', async () => {
  const server = await start(card.configPath);
  const signs = () => mockControl().callCount('SDF_InternalSign_ECC');
  const before = signs();
  mockControl().setLatencyUs(300_000);
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = postSign(server);
    while (signs() === before) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = server.close().then(() => 'closed');
    const response = await answer;
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
    // The client keeps the connection; an idle keep-alive connection would hold close() for 72 s.
    const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 15_000, 'still closing')));
    expect(await Promise.race([closed, timeout])).toBe('closed');
  } finally {
    clearTimeout(timer);
    mockControl().setLatencyUs(0);
    await server.close();
  }
});

test('more requests than slots and queue → 429 QUEUE_FULL, the rest are signed', async () => {
  const server = await start(card.configPath, 0, { concurrency: 1, maxQueue: 1 });
  mockControl().setLatencyUs(20_000);
  try {
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        postSign(server).then(async (response) => ({ status: response.status, json: (await response.json()) as any })),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    const refused = responses.find((response) => response.status === 429);
    expect(refused?.json.error.code).toBe('QUEUE_FULL');
  } finally {
    await server.close();
  }
});

/** `count` requests written at once on one connection (HTTP pipelining); → the status of each answer. */
function pipelined(url: string, count: number, path: string, body: object): Promise<number[]> {
  const { hostname, port } = new URL(url);
  const json = JSON.stringify(body);
  const one =
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(one.repeat(count)));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
      // The last answer is complete once its body (a JSON object) has arrived.
      if (statuses.length === count && received.endsWith('}')) {
        socket.destroy();
        resolve(statuses);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${received.length} bytes`)));
  });
}

test('verify requests beyond one running and --max-verify-queue waiting → 429 QUEUE_FULL; the rest answer', async () => {
  const server = await start(software.configPath, 0, { maxVerifyQueue: 2 });
  try {
    const signature = bytesToHex(smCryptoOracle.sign(privateKey, publicKey, message));
    const body = { message: bytesToHex(message), signature };
    // All 16 arrive in one read, before any verification runs.
    const statuses = await pipelined(server.url, 16, '/v1/verify', body);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(3);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    // The queue drains: a verification after the burst is answered.
    const after = await fetch(`${server.url}/v1/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ valid: true });
  } finally {
    await server.close();
  }
});
