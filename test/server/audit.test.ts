import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { SigningServer } from '../../src/server';
import { AuditLog } from '../../src/server/audit';
import {
  bytesToHex,
  generatePrivateKey,
  hexToBytes,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2VerifyDigest,
} from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { startQuietServer } from '../helpers/serve';

const TOKEN = 'audit-token-c41d9e';
const TOKEN_ID = createHash('sha256').update(TOKEN).digest('hex').slice(0, 8);
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey });
const dir = mkdtempSync(join(tmpdir(), 'gmt0018-audit-'));
const auditPath = join(dir, 'audit.log');
const dispatcher = new Agent({ connections: 32 });
let server: SigningServer;

beforeAll(async () => {
  server = await startQuietServer(node.configPath, TOKEN, {
    auditLog: auditPath,
  });
});
afterAll(async () => {
  await server.close();
  await dispatcher.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(node.dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  requestId: string;
  json: any;
  /** The audit file as it was the moment the answer arrived. */
  auditThen: string;
}

async function sign(url: string, body: object): Promise<Answer> {
  const response = await request(`${url}/v1/sign`, {
    dispatcher,
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // Read before anything else runs: the line must be there when the answer is.
  const auditThen = readFileSync(auditPath, 'utf8');
  return {
    status: response.statusCode,
    requestId: String(response.headers['x-request-id']),
    json: await response.body.json(),
    auditThen,
  };
}

function auditLines(): any[] {
  return readFileSync(auditPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

test('200 concurrent signatures: each one the client received has its audit line, written before the answer', async () => {
  const digests = Array.from({ length: 200 }, (_, i) => sm2Digest(publicKey, new TextEncoder().encode(`tx ${i}`)));
  const answers = await Promise.all(digests.map((digest) => sign(server.url, { digest: bytesToHex(digest) })));
  const byId = new Map(auditLines().map((line) => [line.requestId, line]));
  expect(byId.size).toBe(200);
  for (const [i, answer] of answers.entries()) {
    expect(answer.status).toBe(200);
    expect(answer.auditThen).toContain(`"requestId":"${answer.requestId}"`);
    const line = byId.get(answer.requestId);
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      requestId: answer.requestId,
      client: { tokenId: TOKEN_ID, address: '127.0.0.1' },
      keyIndex: null,
      digest: bytesToHex(digests[i]!),
      result: 'ok',
    });
    // The line's digest is the value the returned signature signs.
    expect(sm2VerifyDigest(publicKey, hexToBytes(line.digest), hexToBytes(answer.json.signature))).toBe(true);
  }
  expect(readFileSync(auditPath, 'utf8')).not.toContain(TOKEN);
});

test('a message is recorded as the digest signed (SM3(Z‖M) with its user ID); refusals have their code', async () => {
  const message = new TextEncoder().encode('pay 5');
  const signed = await sign(server.url, { message: bytesToHex(message), userId: 'alice@bank' });
  const refused = await sign(server.url, { digest: '11'.repeat(32), keyIndex: 7 });
  const invalid = await sign(server.url, { digest: '11'.repeat(31) });
  expect([signed.status, refused.status, invalid.status]).toEqual([200, 403, 400]);
  const byId = new Map(auditLines().map((line) => [line.requestId, line]));
  expect(byId.get(signed.requestId)).toMatchObject({
    digest: bytesToHex(sm2Digest(publicKey, message, 'alice@bank')),
    result: 'ok',
  });
  expect(byId.get(refused.requestId)).toMatchObject({ keyIndex: 7, digest: null, result: 'KEY_NOT_ALLOWED' });
  // A request refused by validation signs nothing and has no digest: the access log has it, not the trail.
  expect(byId.has(invalid.requestId)).toBe(false);
});

test('no audit line, no signature: a log that cannot be written fails the request closed (503 AUDIT_FAILED)', async () => {
  // Every write to /dev/full fails with ENOSPC, as a full disk would.
  const full = await startQuietServer(node.configPath, TOKEN, {
    auditLog: '/dev/full',
  });
  try {
    const response = await request(`${full.url}/v1/sign`, {
      dispatcher,
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ digest: '22'.repeat(32) }),
    });
    expect(response.statusCode).toBe(503);
    const body = (await response.body.json()) as any;
    expect(body.error.code).toBe('AUDIT_FAILED');
    expect(JSON.stringify(body)).not.toMatch(/signature"/);
  } finally {
    await full.close();
  }
});

test('an audit log that cannot be opened refuses to start', async () => {
  const error = await startQuietServer(node.configPath, TOKEN, {
    auditLog: join(dir, 'no-such-folder', 'audit.log'),
  }).then(
    (started) => started.close(),
    (e) => e,
  );
  expect(error?.code).toBe('SERVE_REFUSED');
  expect(error.message).toMatch(/cannot open the audit log .*\(ENOENT\)/);
});

test('AuditLog: 50 lines appended at once are all written; a reopen after close() opens nothing', async () => {
  const path = join(dir, 'unit.log');
  const log = await AuditLog.open(path);
  const record = { time: 't', requestId: 'r', client: {}, keyIndex: null, digest: null, result: 'ok' };
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ ...record, requestId: `r${i}` })));
  expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(50);
  await log.close();
  renameSync(path, `${path}.1`);
  // A SIGHUP that comes while the service closes must not leave a new, empty, open file behind.
  await log.reopen();
  expect(existsSync(path)).toBe(false);
});
