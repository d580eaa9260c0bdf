import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { startSigningServer, ServeRefusedError, type SigningServer } from '../../src/server';
import { HostAllowlist } from '../../src/server/hosts';
import { generatePrivateKey } from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';

const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey: generatePrivateKey() });
afterAll(() => rmSync(node.dir, { recursive: true, force: true }));

/** GET `path` from the server with the given Host header (fetch does not let one set it). */
function getWithHost(server: SigningServer, path: string, host: string): Promise<{ status: number; json: any }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host }, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Host header (DNS rebinding) on a loopback service without a token', () => {
  let server: SigningServer;
  let port: string;

  beforeAll(async () => {
    server = await startSigningServer({ config: node.configPath, port: 0, insecureNoAuth: true, log: false });
    port = new URL(server.url).port;
  });
  afterAll(() => server.close());

  test.each([
    'attacker.example',
    'attacker.example:PORT',
    '127.0.0.1:1',
    'localhost.:PORT',
    '127.0.0.1.attacker.example',
  ])('Host: %s → 403 HOST_NOT_ALLOWED, on /v1 routes and probes alike', async (host) => {
    for (const path of ['/v1/keys', '/healthz']) {
      const { status, json } = await getWithHost(server, path, host.replace('PORT', port));
      expect(status).toBe(403);
      expect(json.error.code).toBe('HOST_NOT_ALLOWED');
    }
  });

  test.each(['localhost', 'localhost:PORT', '127.0.0.1', '127.0.0.1:PORT', '[::1]', '[::1]:PORT', 'LocalHost:PORT'])(
    'Host: %s is served',
    async (host) => {
      const { status } = await getWithHost(server, '/v1/keys', host.replace('PORT', port));
      expect(status).toBe(200);
    },
  );
});

test('--allowed-hosts replaces the default list; an entry without a port also matches the listen port', async () => {
  const server = await startSigningServer({
    config: node.configPath,
    port: 0,
    insecureNoAuth: true,
    allowedHosts: ['signer.internal', 'proxy.example:9443'],
    log: false,
  });
  try {
    const port = new URL(server.url).port;
    expect((await getWithHost(server, '/v1/keys', `signer.internal:${port}`)).status).toBe(200);
    expect((await getWithHost(server, '/v1/keys', 'signer.internal')).status).toBe(200);
    expect((await getWithHost(server, '/v1/keys', 'proxy.example:9443')).status).toBe(200);
    expect((await getWithHost(server, '/v1/keys', `proxy.example:${port}`)).status).toBe(403);
    expect((await getWithHost(server, '/v1/keys', `127.0.0.1:${port}`)).status).toBe(403);
  } finally {
    await server.close();
  }
});

test('a malformed --allowed-hosts entry refuses to start', async () => {
  const error = await startSigningServer({
    config: node.configPath,
    port: 0,
    insecureNoAuth: true,
    allowedHosts: ['http://x/'],
    log: false,
  }).catch((e) => e);
  expect(error).toBeInstanceOf(ServeRefusedError);
  expect(error.message).toMatch(/--allowed-hosts entry "http:\/\/x\/" is not HOST or HOST:PORT/);
});

test('off loopback (where a token and TLS are required) the default accepts any Host; "*" does anywhere', () => {
  expect(HostAllowlist.defaultFor('10.0.0.5').allows('signer.example:443', 8443)).toBe(true);
  expect(HostAllowlist.defaultFor('0.0.0.0').allows(undefined, 8443)).toBe(true);
  expect(HostAllowlist.parse(['*']).allows('anything.example', 1)).toBe(true);
  expect(HostAllowlist.defaultFor('127.0.0.1').allows(undefined, 8443)).toBe(false);
});
