import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createRemoteSigner, RemoteSignerError } from '../../src';
import { startSigningServer, ServeRefusedError } from '../../src/server';
import { generatePrivateKey, sm2Verify } from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { slowClient, slowHead } from '../helpers/slow-client';

const TOKEN = 'tls-token-0d9e';
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey: generatePrivateKey() });
const certs = mkdtempSync(join(tmpdir(), 'gmt0018-certs-'));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, all P-256. */
function makeCertificates(): void {
  const newKey = (file: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
  newKey('ca.key');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=test-ca', '-days', '1', '-out', 'ca.pem');
  writeFileSync(join(certs, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const name of ['server', 'client']) {
    newKey(`${name}.key`);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
    const ext = name === 'server' ? ['-extfile', 'server.ext'] : [];
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.pem`,
      ...ext,
    );
  }
}

const read = (name: string) => readFileSync(join(certs, name));

beforeAll(makeCertificates);

afterAll(() => {
  rmSync(certs, { recursive: true, force: true });
  rmSync(node.dir, { recursive: true, force: true });
});

describe('refusing to start', () => {
  test.each([
    ['a non-loopback bind without TLS', { host: '0.0.0.0', token: TOKEN }, /without TLS/],
    ['no token', {}, /no token configured/],
    ['a blank token', { token: ' \t ' }, /blank or contains whitespace/],
    ['a token with a space in it', { token: 'two words' }, /blank or contains whitespace/],
    [
      '--insecure-no-auth off loopback',
      { host: '0.0.0.0', insecureNoAuth: true, tls: { cert: 'x', key: 'y' } },
      /only allowed on loopback/,
    ],
  ])('%s', async (_name, extra, reason) => {
    // A server that starts after all is closed again, so that a failing case does not hang the run.
    const error = await startSigningServer({ config: node.configPath, port: 0, log: false, ...extra }).then(
      (server) => server.close(),
      (e) => e,
    );
    expect(error).toBeInstanceOf(ServeRefusedError);
    expect(error.message).toMatch(reason);
    expect(error.message).not.toContain('\n');
  });

  test('--insecure-no-auth on loopback serves without a token', async () => {
    const server = await startSigningServer({ config: node.configPath, port: 0, insecureNoAuth: true, log: false });
    try {
      const response = await fetch(`${server.url}/v1/keys`);
      expect(response.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('mutual TLS', () => {
  test('a client with a certificate from the CA signs; one without is rejected in the handshake', async () => {
    const server = await startSigningServer({
      config: node.configPath,
      port: 0,
      token: TOKEN,
      tls: { cert: read('server.pem'), key: read('server.key'), clientCa: read('ca.pem') },
      log: false,
    });
    const withCert = new Agent({ connect: { ca: read('ca.pem'), cert: read('client.pem'), key: read('client.key') } });
    const withoutCert = new Agent({ connect: { ca: read('ca.pem') } });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ok = await request(`${server.url}/v1/sign`, {
        dispatcher: withCert,
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'abcd' }),
      });
      expect(ok.statusCode).toBe(200);
      expect((await ok.body.json()) as object).toHaveProperty('signature');

      const refused = await request(`${server.url}/healthz`, { dispatcher: withoutCert }).then(
        async (response) => ({ status: response.statusCode, body: await response.body.text() }),
        (error: Error) => error,
      );
      expect(refused).toBeInstanceOf(Error);

      const remote = await createRemoteSigner({
        url: server.url,
        token: TOKEN,
        ca: read('ca.pem'),
        cert: read('client.pem'),
        key: read('client.key'),
      });
      try {
        const message = new TextEncoder().encode('over mutual TLS');
        expect(sm2Verify(remote.publicKey, message, await remote.sign(message))).toBe(true);
      } finally {
        await remote.close();
      }
      const anonymous = await createRemoteSigner({
        url: server.url,
        token: TOKEN,
        ca: read('ca.pem'),
        retries: 0,
      }).catch((error) => error);
      expect(anonymous).toBeInstanceOf(RemoteSignerError);
      expect(anonymous.status).toBe(0);
    } finally {
      await withCert.close();
      await withoutCert.close();
      await server.close();
    }
  });
});

test('the audit trail names a mutual-TLS client by its certificate subject, and the token by its id only', async () => {
  const auditPath = join(certs, 'audit.log');
  const server = await startSigningServer({
    config: node.configPath,
    port: 0,
    token: TOKEN,
    tls: { cert: read('server.pem'), key: read('server.key'), clientCa: read('ca.pem') },
    log: false,
    auditLog: auditPath,
  });
  const withCert = new Agent({ connect: { ca: read('ca.pem'), cert: read('client.pem'), key: read('client.key') } });
  try {
    const response = await request(`${server.url}/v1/sign`, {
      dispatcher: withCert,
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ digest: '33'.repeat(32) }),
    });
    expect(response.statusCode).toBe(200);
    await response.body.json();
  } finally {
    await withCert.close();
    await server.close();
  }
  const text = readFileSync(auditPath, 'utf8');
  expect(JSON.parse(text).client).toEqual({
    tokenId: createHash('sha256').update(TOKEN).digest('hex').slice(0, 8),
    subject: 'CN=client',
    address: '127.0.0.1',
  });
  expect(text).not.toContain(TOKEN);
});

describe('timeouts over TLS', () => {
  test('a request trickling its body and a connection that never completes its handshake are both cut', async () => {
    const server = await startSigningServer({
      config: node.configPath,
      port: 0,
      token: TOKEN,
      tls: { cert: read('server.pem'), key: read('server.key') },
      log: false,
      requestTimeoutMs: 1500,
      headersTimeoutMs: 1000,
    });
    try {
      const head = slowHead('POST', '/v1/sign', { authorization: `Bearer ${TOKEN}` });
      const trickling = slowClient(server.url, { head, deadlineMs: 20_000, tls: { ca: read('ca.pem') } });
      // Plain TCP to the TLS port, sending nothing: no HTTP timeout applies until a handshake ends.
      const silent = slowClient(server.url, { deadlineMs: 20_000 });
      await Promise.all([trickling.connected, silent.connected]);
      const [slow, mute] = await Promise.all([trickling.closed, silent.closed]);
      expect(slow.closedBy).toBe('server');
      expect(slow.received).toContain('{"error":{"code":"REQUEST_TIMEOUT"');
      expect(slow.ms).toBeLessThan(1500 + 8_000);
      expect(mute.closedBy).toBe('server');
      expect(mute.ms).toBeLessThan(1000 + 8_000);
    } finally {
      await server.close();
    }
  });
});
