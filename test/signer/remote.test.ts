import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, createRemoteSigner, createSigner, loadSecurityConfig, RemoteSignerError } from '../../src';
import { startSigningServer, type SigningServer } from '../../src/server';
import { bytesToHex, generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2Verify } from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { opensslOracle, smCryptoOracle } from '../helpers/oracles';
import { standInService } from '../helpers/stand-in-service';

const TOKEN = 'remote-client-token-3e1f';
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const folders: string[] = [];
const servers: SigningServer[] = [];

function nodeFolder(security: string, key = privateKey) {
  const folder = writeNodeFolder({ security, privateKey: key });
  folders.push(folder.dir);
  return folder;
}

async function serve(key = privateKey): Promise<SigningServer> {
  const folder = nodeFolder('private_key_path=conf/node.pem', key);
  const server = await startSigningServer({ config: folder.configPath, port: 0, token: TOKEN, log: false });
  servers.push(server);
  return server;
}

async function signCount(server: SigningServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /gmt0018_http_requests_total\{route="\/v1\/sign",method="POST",status="200"\} (\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

const message = new TextEncoder().encode('remote signing');

describe('createRemoteSigner', () => {
  // The remote backend's one check by OpenSSL and sm-crypto; elsewhere the remote tests verify
  // with sm2Verify (itself checked against both in test/sm2/crosscheck.test.ts).
  test('signs through the service; signatures verify with OpenSSL and sm-crypto', async () => {
    const server = await serve();
    const signer = await createRemoteSigner({ url: server.url, token: TOKEN });
    try {
      expect(signer.backend).toBe('remote');
      expect(signer.publicKey).toEqual(publicKey);
      const signature = await signer.sign(message);
      expect(opensslOracle.verify(publicKey, message, signature)).toBe(true);
      expect(smCryptoOracle.verify(publicKey, message, signature)).toBe(true);
      expect(await signer.verify(message, signature)).toBe(true);

      const fromDigest = await signer.signDigest(sm2Digest(publicKey, message));
      expect(smCryptoOracle.verify(publicKey, message, fromDigest)).toBe(true);

      for (const userId of ['alice@example', new TextEncoder().encode('alice@example')]) {
        const withId = await signer.sign(message, { userId });
        expect(await signer.verify(message, withId, { userId: 'alice@example' })).toBe(true);
        expect(await signer.verify(message, withId)).toBe(false);
      }
      await expect(signer.signDigest(new Uint8Array(31))).rejects.toThrow(RangeError);
      expect(inspect(signer, { showHidden: true, depth: 5 })).not.toContain(TOKEN);
      expect(JSON.stringify(signer)).not.toContain(TOKEN);
    } finally {
      await signer.close();
    }
  });

  test('a wrong token is a RemoteSignerError 401 UNAUTHORIZED, without the token in the message', async () => {
    const server = await serve();
    const error = await createRemoteSigner({ url: server.url, token: 'not-it' }).catch((e) => e);
    expect(error).toBeInstanceOf(RemoteSignerError);
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(error.message).not.toContain('not-it');
  });

  test('nobody listening: a typed connection error after the bounded retries', async () => {
    const server = await serve();
    const url = server.url;
    await server.close();
    const error = await createRemoteSigner({
      url,
      token: TOKEN,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(RemoteSignerError);
    expect(error).toMatchObject({ status: 0, code: 'CONNECTION_FAILED' });
  });

  test('round robin over two instances, and failover when one is down', async () => {
    const [a, b] = [await serve(), await serve()];
    const signer = await createRemoteSigner({ urls: [a.url, b.url], token: TOKEN });
    try {
      const before = [await signCount(a), await signCount(b)];
      for (let i = 0; i < 6; i++) await signer.sign(message);
      expect((await signCount(a)) - before[0]!).toBe(3);
      expect((await signCount(b)) - before[1]!).toBe(3);

      await a.close();
      const signatures = await Promise.all(Array.from({ length: 6 }, () => signer.sign(message)));
      for (const signature of signatures) expect(sm2Verify(publicKey, message, signature)).toBe(true);
    } finally {
      await signer.close();
    }
  });

  test('an instance holding another key is caught, not trusted: skipped, and its requests signed by the other', async () => {
    const [a, b] = [await serve(), await serve(generatePrivateKey())];
    const signer = await createRemoteSigner({ urls: [a.url, b.url], token: TOKEN });
    const single = await createRemoteSigner({ urls: [a.url, b.url], token: TOKEN, retry: { attempts: 1 } });
    try {
      const before = await signCount(b);
      for (let i = 0; i < 6; i++) expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
      // The first request that reached b was refused and tried again on a; b was skipped since.
      expect((await signCount(b)) - before).toBe(1);

      // With one try only, the request that lands on b fails, typed.
      const outcomes = [await single.sign(message).catch((e) => e), await single.sign(message).catch((e) => e)];
      const failures = outcomes.filter((outcome) => outcome instanceof RemoteSignerError);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ status: 200, code: 'KEY_MISMATCH' });
      expect(failures[0].message).toContain(b.url);
    } finally {
      await signer.close();
      await single.close();
    }
  });

  test('an answer over 1 MiB is refused, not buffered, and not retried', async () => {
    let requests = 0;
    const impostor = createServer((_request, response) => {
      requests++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = impostor.address() as AddressInfo;
      const error = await createRemoteSigner({ url: `http://127.0.0.1:${port}`, token: TOKEN }).catch((e) => e);
      expect(error).toBeInstanceOf(RemoteSignerError);
      expect(error).toMatchObject({ status: 0, code: 'REQUEST_FAILED' });
      expect(error.message).toMatch(/answer over 1048576 bytes/);
      expect(requests).toBe(1);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  test('sign() sends only SM3(Z||M), so a long message never crosses the network', async () => {
    const service = await standInService(privateKey, [
      { keyIndex: null, publicKey: bytesToHex(publicKey), nodeId: bytesToHex(publicKey) },
    ]);
    const { bodies } = service;
    const signer = await createRemoteSigner({ url: service.url, token: TOKEN });
    try {
      const long = new Uint8Array(1024 * 1024).fill(0x61);
      const signature = await signer.sign(long, { userId: 'alice@example' });
      expect(bodies).toHaveLength(1);
      expect(JSON.parse(bodies[0]!)).toEqual({ digest: bytesToHex(sm2Digest(publicKey, long, 'alice@example')) });
      expect(bodies[0]!.length).toBeLessThan(100);
      expect(await signer.verify(long, signature, { userId: 'alice@example' })).toBe(true);
      expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
    } finally {
      await signer.close();
      await service.close();
    }
  });

  test('a key listing that is not a list, or a keyIndex that is not an index, is refused at connect', async () => {
    const answers = [
      [{ keyIndex: 1, publicKey: 'zz'.repeat(64) }],
      [{ keyIndex: 1, publicKey: '00'.repeat(64) }],
      [{ keyIndex: 1 }],
      { keyIndex: 1, publicKey: 'not a list' },
      [{ keyIndex: '1,"digest":"00"', publicKey: bytesToHex(publicKey) }],
      [{ keyIndex: -1, publicKey: bytesToHex(publicKey) }],
      [{ keyIndex: 1.5, publicKey: bytesToHex(publicKey) }],
    ];
    for (const answer of answers) {
      const service = await standInService(privateKey, answer);
      try {
        const error = await createRemoteSigner({ url: service.url, token: TOKEN }).catch((e) => e);
        expect(error).toBeInstanceOf(RemoteSignerError);
        expect(error).toMatchObject({ status: 200, code: 'BAD_RESPONSE' });
      } finally {
        await service.close();
      }
    }
  });

  test('signDigest names the listed key index in its request, and the service signs with it', async () => {
    const service = await standInService(privateKey, [{ keyIndex: 7, publicKey: bytesToHex(publicKey) }]);
    const { bodies } = service;
    const signer = await createRemoteSigner({ url: service.url, token: TOKEN });
    try {
      const digest = sm2Digest(publicKey, message);
      const signature = await signer.signDigest(digest);
      expect(bodies.map((body) => JSON.parse(body))).toEqual([{ digest: bytesToHex(digest), keyIndex: 7 }]);
      expect(sm2Verify(publicKey, message, signature)).toBe(true);
      await expect(signer.signDigest(new Uint8Array(31))).rejects.toThrow(RangeError);
      expect(bodies).toHaveLength(1);
    } finally {
      await signer.close();
      await service.close();
    }
  });

  test('a closed signer refuses to sign', async () => {
    const server = await serve();
    const signer = await createRemoteSigner({ url: server.url, token: TOKEN });
    await signer.close();
    await expect(signer.sign(message)).rejects.toMatchObject({ code: 'SIGNER_CLOSED' });
  });
});

describe('createSigner with remote_signer_url', () => {
  test('builds the remote signer, reading the token file relative to the config folder', async () => {
    const [a, b] = [await serve(), await serve()];
    const folder = nodeFolder(
      `remote_signer_url=${a.url}, ${b.url}/\nremote_signer_token_file=conf/signer.token`,
      generatePrivateKey(),
    );
    writeFileSync(join(folder.dir, 'conf', 'signer.token'), `${TOKEN}\n`);
    const config = loadSecurityConfig(folder.configPath);
    expect(config.remoteSigner).toEqual({ urls: [a.url, b.url], tokenFile: join(folder.dir, 'conf', 'signer.token') });
    const signer = await createSigner(folder.configPath);
    try {
      expect(signer.backend).toBe('remote');
      expect(signer.publicKey).toEqual(publicKey);
      expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
    } finally {
      await signer.close();
    }
  });

  test('a missing token file is a ConfigError naming the key', async () => {
    const folder = nodeFolder('remote_signer_url=http://127.0.0.1:9\nremote_signer_token_file=nope.token');
    const error = await createSigner(folder.configPath).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('CONFIG_FILE_UNREADABLE');
    expect(error.message).toContain('remote_signer_token_file');
  });

  test.each([
    ['remote_signer_url=ftp://signer:21', /not a plain http\(s\) URL/],
    ['remote_signer_url=http://a:1,,http://b:2', /empty URL/],
    ['remote_signer_url=https://user:pw@signer:8443', /not a plain http\(s\) URL/],
    ['remote_signer_token_file=t.token', /remote_signer_url/],
  ])('%s is refused', (security, reason) => {
    const folder = nodeFolder(security);
    expect(() => loadSecurityConfig(folder.configPath)).toThrow(reason);
  });
});
