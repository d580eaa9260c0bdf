import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startSigningServer, type SigningServer } from '../../src/server';
import { REDACTED_LOG_PATHS } from '../../src/server/log';
import {
  bytesToHex,
  generatePrivateKey,
  hexToBytes,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2Verify,
  toFiscoSignature,
} from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { opensslOracle, smCryptoOracle } from '../helpers/oracles';

const TOKEN = 'serve-token-7f3a9c';
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey });
const logLines: string[] = [];
const bodies: string[] = [];
let server: SigningServer;

beforeAll(async () => {
  server = await startSigningServer({
    config: node.configPath,
    port: 0,
    token: TOKEN,
    maxBody: 64 * 1024,
    log: { stream: { write: (line: string) => void logLines.push(line) }, level: 'debug' },
  });
});

afterAll(async () => {
  await server.close();
  rmSync(node.dir, { recursive: true, force: true });
});

async function call(
  path: string,
  init: { method?: string; body?: unknown; raw?: string; auth?: string | null } = {},
): Promise<{ status: number; json: any; text: string }> {
  const headers: Record<string, string> = {};
  if (init.auth !== null) headers.authorization = init.auth ?? `Bearer ${TOKEN}`;
  let body: string | undefined;
  if (init.raw !== undefined || init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = init.raw ?? JSON.stringify(init.body);
  }
  const response = await fetch(server.url + path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await response.text();
  bodies.push(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

describe('signing through the service (software backend)', () => {
  const message = new TextEncoder().encode('transfer 100 to 0xabc');

  // The service signs with a threaded SoftwareSigner: OpenSSL and sm-crypto check that in
  // test/signer/software-threads.test.ts, and through the remote client in test/signer/remote.test.ts.
  test('a signature over a message verifies', async () => {
    const { status, json } = await call('/v1/sign', { body: { message: bytesToHex(message) } });
    expect(status).toBe(200);
    expect(json.publicKey).toBe(bytesToHex(publicKey));
    const signature = hexToBytes(json.signature);
    expect(signature).toHaveLength(64);
    expect(sm2Verify(publicKey, message, signature)).toBe(true);
    expect(sm2Verify(publicKey, new Uint8Array([1, 2, 3]), signature)).toBe(false);
  });

  test('a digest signature, and the der / fisco formats, verify', async () => {
    const digest = sm2Digest(publicKey, message);
    const rs = await call('/v1/sign', { body: { digest: bytesToHex(digest) } });
    expect(smCryptoOracle.verify(publicKey, message, hexToBytes(rs.json.signature))).toBe(true);

    const der = await call('/v1/sign', { body: { message: bytesToHex(message), format: 'der' } });
    expect(der.json.signature.startsWith('30')).toBe(true);
    const fisco = await call('/v1/sign', { body: { message: bytesToHex(message), format: 'fisco' } });
    expect(fisco.json.signature).toHaveLength(256);
    expect(fisco.json.signature.slice(128)).toBe(bytesToHex(publicKey));
    const fromFisco = hexToBytes(fisco.json.signature.slice(0, 128));
    expect(opensslOracle.verify(publicKey, message, fromFisco)).toBe(true);

    for (const signature of [der.json.signature, fisco.json.signature, rs.json.signature]) {
      const verified = await call('/v1/verify', { body: { message: bytesToHex(message), signature } });
      expect(verified.json).toEqual({ valid: true });
    }
  });

  test('verify says false for another message or another key', async () => {
    const signature = bytesToHex(smCryptoOracle.sign(privateKey, publicKey, message));
    expect((await call('/v1/verify', { body: { message: bytesToHex(message), signature } })).json).toEqual({
      valid: true,
    });
    expect((await call('/v1/verify', { body: { message: '00', signature } })).json).toEqual({ valid: false });
    const other = bytesToHex(publicKeyFromPrivateKey(generatePrivateKey()));
    const res = await call('/v1/verify', { body: { message: bytesToHex(message), signature, publicKey: other } });
    expect(res.json).toEqual({ valid: false });
  });

  test("a FISCO signature carrying the signer's own key does not verify unless that key is the one asked for", async () => {
    // Anyone can make a key pair and a FISCO r‖s‖pub signature with it.
    const attackerKey = generatePrivateKey();
    const attackerPublic = publicKeyFromPrivateKey(attackerKey);
    const rs = smCryptoOracle.sign(attackerKey, attackerPublic, message);
    const forged = bytesToHex(toFiscoSignature(rs, attackerPublic));
    const body = { message: bytesToHex(message), signature: forged };
    // Against the service's key (none named): the embedded key is not trusted.
    expect((await call('/v1/verify', { body })).json).toEqual({ valid: false });
    // The same signature does verify against its key when the caller names that key.
    const named = await call('/v1/verify', { body: { ...body, publicKey: bytesToHex(attackerPublic) } });
    expect(named.json).toEqual({ valid: true });
    // A genuine signature by the service, with another key embedded, is not valid for the service's key.
    const genuine = (await call('/v1/sign', { body: { message: bytesToHex(message) } })).json.signature;
    const relabelled = genuine + bytesToHex(attackerPublic).slice(2);
    expect((await call('/v1/verify', { body: { ...body, signature: relabelled } })).json).toEqual({ valid: false });
  });

  test('verify takes publicKey or keyIndex, not both', async () => {
    const body = { message: '00', signature: 'ab'.repeat(64), publicKey: bytesToHex(publicKey), keyIndex: 1 };
    const { status, json } = await call('/v1/verify', { body });
    expect(status).toBe(400);
    expect(json.error.code).toBe('BAD_REQUEST');
  });

  test('/v1/keys gives the node ID `gmt0018 nodeid` prints', async () => {
    const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
    const printed = execFileSync(process.execPath, [cli, 'nodeid', '--config', node.configPath], {
      encoding: 'utf8',
    }).trim();
    const { status, json } = await call('/v1/keys');
    expect(status).toBe(200);
    expect(json).toEqual([{ keyIndex: null, algorithm: 'sm2', publicKey: printed, nodeId: printed }]);
  });

  test('probes answer without a token', async () => {
    expect((await call('/healthz', { auth: null })).status).toBe(200);
    expect((await call('/readyz', { auth: null })).json).toEqual({ status: 'ready' });
  });
});

describe('security table', () => {
  const sign = { message: 'abcd' };

  test.each([
    ['no token', null],
    ['wrong token of the same length', `Bearer ${TOKEN.replace(/.$/, 'x')}`],
    ['token of another length', `Bearer ${TOKEN}0`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 5)}`],
    ['another scheme', `Basic ${TOKEN}`],
  ])('%s → 401', async (_name, auth) => {
    const { status, json } = await call('/v1/sign', { body: sign, auth });
    expect(status).toBe(401);
    expect(json.error.code).toBe('UNAUTHORIZED');
    expect((await call('/v1/keys', { auth })).status).toBe(401);
  });

  test('a key index the service does not serve → 403', async () => {
    const { status, json } = await call('/v1/sign', { body: { ...sign, keyIndex: 7 } });
    expect(status).toBe(403);
    expect(json.error.code).toBe('KEY_NOT_ALLOWED');
  });

  test('a body over the limit → 413', async () => {
    const { status, json } = await call('/v1/sign', { body: { message: 'ab'.repeat(64 * 1024) } });
    expect(status).toBe(413);
    expect(json.error.code).toBe('BODY_TOO_LARGE');
  });

  test.each([
    ['malformed JSON', { raw: '{"message": "ab"' }, 'BAD_JSON'],
    ['bad hex', { body: { message: 'zz' } }, 'BAD_HEX'],
    ['odd hex', { body: { message: 'abc' } }, 'BAD_HEX'],
    ['31-byte digest', { body: { digest: 'ab'.repeat(31) } }, 'BAD_LENGTH'],
    ['neither message nor digest', { body: {} }, 'BAD_REQUEST'],
    ['both message and digest', { body: { message: 'ab', digest: 'ab'.repeat(32) } }, 'BAD_REQUEST'],
    ['unknown format', { body: { message: 'ab', format: 'pem' } }, 'BAD_REQUEST'],
    ['a JSON array', { raw: '[]' }, 'BAD_REQUEST'],
    ['negative key index', { body: { message: 'ab', keyIndex: -1 } }, 'BAD_REQUEST'],
  ])('%s → 400', async (_name, init, code) => {
    const { status, json, text } = await call('/v1/sign', init);
    expect(status).toBe(400);
    expect(json.error.code).toBe(code);
    expect(text).not.toMatch(/at \S+ \(|node_modules|\.ts:\d+/);
  });

  test.each([
    ['a userId of 8192 characters', '/v1/sign', { message: 'ab', userId: 'u'.repeat(8192) }, 'FIELD_TOO_LONG'],
    [
      'a userId of 8193 UTF-8 bytes in 2731 characters',
      '/v1/sign',
      { message: 'ab', userId: '中'.repeat(2731) },
      'FIELD_TOO_LONG',
    ],
    ['a userIdHex of 8192 bytes', '/v1/sign', { message: 'ab', userIdHex: '00'.repeat(8192) }, 'FIELD_TOO_LONG'],
    ['an unknown field', '/v1/sign', { message: 'ab', messge: 'cd' }, 'UNKNOWN_FIELD'],
    ['a key index as a string', '/v1/sign', { message: 'ab', keyIndex: '1' }, 'BAD_REQUEST'],
    ['a key index over 2^31-1', '/v1/sign', { message: 'ab', keyIndex: 2 ** 31 }, 'BAD_REQUEST'],
    ['a message as a number', '/v1/sign', { message: 1234 }, 'BAD_REQUEST'],
    ['a 0x-prefixed 31-byte digest', '/v1/sign', { digest: `0x${'ab'.repeat(31)}` }, 'BAD_LENGTH'],
    [
      'verify: a userId of 8192 characters',
      '/v1/verify',
      { message: 'ab', signature: 'ab'.repeat(64), userId: 'u'.repeat(8192) },
      'FIELD_TOO_LONG',
    ],
    [
      'verify: a signature over 128 bytes',
      '/v1/verify',
      { message: 'ab', signature: 'ab'.repeat(130) },
      'FIELD_TOO_LONG',
    ],
    [
      'verify: a public key over 65 bytes',
      '/v1/verify',
      { message: 'ab', signature: 'ab'.repeat(64), publicKey: 'ab'.repeat(67) },
      'FIELD_TOO_LONG',
    ],
    [
      'verify: an unknown field',
      '/v1/verify',
      { message: 'ab', signature: 'ab'.repeat(64), extra: true },
      'UNKNOWN_FIELD',
    ],
    ['verify: no signature', '/v1/verify', { message: 'ab' }, 'BAD_REQUEST'],
  ])('%s → 400 with a code (validated by the route schema)', async (_name, path, body, code) => {
    const { status, json } = await call(path, { body });
    expect(status).toBe(400);
    expect(json.error.code).toBe(code);
  });

  test('a userId of exactly 8191 bytes signs, and the signature verifies with it', async () => {
    const userId = 'u'.repeat(8191);
    const message = bytesToHex(new TextEncoder().encode('long id'));
    const signed = await call('/v1/sign', { body: { message, userId } });
    expect(signed.status).toBe(200);
    const verified = await call('/v1/verify', { body: { message, signature: signed.json.signature, userId } });
    expect(verified.json).toEqual({ valid: true });
  });

  test('unknown route → 404 in the error shape', async () => {
    const { status, json } = await call('/v1/nothing');
    expect(status).toBe(404);
    expect(json.error.code).toBe('NOT_FOUND');
  });

  test('/metrics counts requests by route and status, and signing latency', async () => {
    const { status, text } = await call('/metrics', { auth: null });
    expect(status).toBe(200);
    expect(text).toMatch(/gmt0018_http_requests_total\{route="\/v1\/sign",method="POST",status="200"\} [1-9]/);
    expect(text).toMatch(/gmt0018_http_requests_total\{route="\/v1\/sign",method="POST",status="401"\} [1-9]/);
    expect(text).toMatch(/gmt0018_sign_duration_seconds_count\{backend="software"\} [1-9]/);
    expect(text).toContain('gmt0018_sign_in_flight');
  });

  test('the log redaction covers the authorization header and token / password fields', () => {
    const lines: string[] = [];
    const logger = pino(
      { redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } },
      { write: (line: string) => void lines.push(line) },
    );
    logger.info({ req: { headers: { authorization: `Bearer ${TOKEN}` } }, body: { password: 'pw-1', token: TOKEN } });
    logger.info({ password: 'pw-1', token: TOKEN }, 'top level');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain('pw-1');
      expect(line).toContain('[redacted]');
    }
  });

  test('a query string (which may carry a token or password) is never logged: the path only', async () => {
    const secrets = ['qs-token-5d1e0b', 'qs-password-77c2', 'qs-secret-a9f0'];
    const query = `?access_token=${secrets[0]}&password=${secrets[1]}&x=${secrets[2]}`;
    const before = logLines.length;
    expect((await call(`/v1/keys${query}`)).status).toBe(200);
    expect((await call(`/v1/nothing${query}`)).status).toBe(404);
    expect((await call(`/healthz${query}#frag`, { auth: null })).status).toBe(200);
    const lines = logLines.slice(before);
    expect(lines.some((line) => line.includes('"url":"/v1/keys"'))).toBe(true);
    expect(lines.some((line) => line.includes('"url":"/v1/nothing"'))).toBe(true);
    for (const text of [...lines, ...bodies]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });

  test('the token appears in no response body, log line or metric', async () => {
    await call('/metrics', { auth: null });
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.some((line) => line.includes('"url":"/v1/sign"'))).toBe(true);
    for (const text of [...bodies, ...logLines]) expect(text).not.toContain(TOKEN);
    expect(bodies.every((text) => !/at \S+ \(.*:\d+:\d+\)/.test(text))).toBe(true);
  });
});
