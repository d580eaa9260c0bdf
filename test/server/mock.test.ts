import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SDR } from '../../src/sdf';
import { startSigningServer, type SigningServer } from '../../src/server';
import { bytesToHex, generatePrivateKey, hexToBytes, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { MOCK_LIB, mockControl, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';
import { smCryptoOracle } from '../helpers/oracles';

const TOKEN = 'mock-serve-token-51c2';
const PASSWORD = 'Pa#ss;w0rd-card';
const keystore = new TempKeystore();
const keys = [generatePrivateKey(), generatePrivateKey()];
const publicKeys = keys.map((key) => publicKeyFromPrivateKey(key));
const node = writeNodeFolder({
  security: `enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}`,
});
const logLines: string[] = [];
const bodies: string[] = [];
let server: SigningServer;

beforeAll(async () => {
  keystore.import(1, PASSWORD, keys[0]!);
  keystore.import(2, PASSWORD, keys[1]!);
  server = await startSigningServer({
    config: node.configPath,
    port: 0,
    token: TOKEN,
    allowKeyIndices: [1, 2],
    signerOptions: { sessions: 2 },
    log: { stream: { write: (line: string) => void logLines.push(line) } },
  });
});

afterAll(async () => {
  mockControl().setFault(null, 0, 0, 0);
  await server.close();
  keystore.remove();
  rmSync(node.dir, { recursive: true, force: true });
});

async function call(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(server.url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  bodies.push(text);
  return { status: response.status, json: JSON.parse(text) };
}

const message = new TextEncoder().encode('block 42 header');

// OpenSSL and sm-crypto verify the mock card's signatures in test/signer/cross-verify.test.ts.
test('signatures from the mock card, for each allowed key index, verify under that index’s key', async () => {
  for (const [i, keyIndex] of [1, 2].entries()) {
    const { status, json } = await call('/v1/sign', { message: bytesToHex(message), keyIndex });
    expect(status).toBe(200);
    expect(json.publicKey).toBe(bytesToHex(publicKeys[i]!));
    const signature = hexToBytes(json.signature);
    expect(sm2Verify(publicKeys[i]!, message, signature)).toBe(true);
    expect(sm2Verify(publicKeys[1 - i]!, message, signature)).toBe(false);
  }
  // No key index: the config's key_index.
  expect((await call('/v1/sign', { message: '00' })).json.publicKey).toBe(bytesToHex(publicKeys[0]!));
});

test('verify with keyIndex checks against that served key; an index not served → 403', async () => {
  const signed = await call('/v1/sign', { message: bytesToHex(message), keyIndex: 2, format: 'fisco' });
  const body = { message: bytesToHex(message), signature: signed.json.signature };
  expect((await call('/v1/verify', { ...body, keyIndex: 2 })).json).toEqual({ valid: true });
  // The embedded key is key 2's, which is not the key asked for.
  expect((await call('/v1/verify', { ...body, keyIndex: 1 })).json).toEqual({ valid: false });
  // No key named: the default key (key_index=1).
  expect((await call('/v1/verify', body)).json).toEqual({ valid: false });
  const refused = await call('/v1/verify', { ...body, keyIndex: 3 });
  expect(refused.status).toBe(403);
  expect(refused.json.error.code).toBe('KEY_NOT_ALLOWED');
});

test('a key index outside the allowlist → 403', async () => {
  const { status, json } = await call('/v1/sign', { message: '00', keyIndex: 3 });
  expect(status).toBe(403);
  expect(json.error.code).toBe('KEY_NOT_ALLOWED');
});

test('/v1/keys lists the allowed keys, with the node ID `gmt0018 nodeid` prints for key_index', async () => {
  const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
  const printed = execFileSync(process.execPath, [cli, 'nodeid', '--config', node.configPath], {
    encoding: 'utf8',
    env: { ...process.env, GMT0018_MOCK_KEYSTORE: keystore.dir },
  }).trim();
  const { json } = await call('/v1/keys');
  expect(json).toEqual([
    { keyIndex: 1, algorithm: 'sm2', publicKey: printed, nodeId: printed },
    { keyIndex: 2, algorithm: 'sm2', publicKey: bytesToHex(publicKeys[1]!), nodeId: bytesToHex(publicKeys[1]!) },
  ]);
});

test('a failing card → 503 with the SDR code name and /readyz 503, then recovery without a restart', async () => {
  expect((await call('/readyz')).status).toBe(200);
  mockControl().setFault('SDF_InternalSign_ECC', SDR.SDR_HARDFAIL, 0, -1);
  try {
    const failed = await call('/v1/sign', { message: '00' });
    expect(failed.status).toBe(503);
    expect(failed.json.error.code).toBe('SDR_HARDFAIL');
    const ready = await call('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.error.code).toBe('SDR_HARDFAIL');
  } finally {
    mockControl().setFault(null, 0, 0, 0);
  }
  expect((await call('/readyz')).status).toBe(200);
  const { status, json } = await call('/v1/sign', { message: bytesToHex(message) });
  expect(status).toBe(200);
  expect(smCryptoOracle.verify(publicKeys[0]!, message, hexToBytes(json.signature))).toBe(true);

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  expect(metrics).toMatch(/gmt0018_device_errors_total\{code="SDR_HARDFAIL"\} [1-9]/);
  expect(metrics).toMatch(/gmt0018_sessions 4/);
  bodies.push(metrics);
});

test('the password and the token appear in no response, log line or metric', () => {
  expect(logLines.length).toBeGreaterThan(3);
  for (const text of [...bodies, ...logLines]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(TOKEN);
  }
});
