import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { createSecurityConfig, loadSecurityConfig, parseSecurityConfig } from '../src/config';
import { openDevice, SdfError } from '../src/sdf';
import { createRemoteSigner, createSigner, RemoteSignerError, SoftwareSigner } from '../src/signer';
import { bytesToHex, generatePrivateKey, publicKeyFromPrivateKey } from '../src/sm2';
import { MOCK_LIB, TempKeystore } from './helpers/mock-card';
import { NodeFolders } from './helpers/node-config';
import { expectNoSecret, secretLeaks } from './helpers/secrets';

const PASSWORD = 'Sup3r#;s3cret pw';
const TOKEN = 'remote-token-5ec2e7-do-not-log';
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const nodes = new NodeFolders(privateKey);
const HSM_SECURITY = `enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}`;

describe('secretLeaks finds a secret however an object hides it', () => {
  const S = 'the-secret-value';
  const key = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
  class TsPrivate {
    // TypeScript's `private` is a plain property at run time.
    constructor(private readonly token: string) {}
    [inspect.custom]() {
      return 'TsPrivate {}';
    }
    toJSON() {
      return {};
    }
    used() {
      return this.token.length;
    }
  }
  const cases: [string, () => unknown][] = [
    ['a TypeScript-private field behind a custom inspect and toJSON', () => new TsPrivate(S)],
    ['a non-enumerable property', () => Object.defineProperty({}, 'hidden', { value: S, enumerable: false })],
    ['a symbol-keyed property', () => ({ [Symbol('token')]: S })],
    [
      'a getter on the prototype',
      () =>
        new (class {
          get token() {
            return S;
          }
        })(),
    ],
    ['a Map entry', () => ({ headers: new Map([['authorization', `Bearer ${S}`]]) })],
    ['a Set entry deep down', () => ({ a: { b: { c: new Set([[S]]) } } })],
    ['its bytes in a Buffer', () => ({ raw: Buffer.from(`Bearer ${S}`) })],
    ['key bytes in an ArrayBuffer', () => ({ buffer: Uint8Array.from(key).buffer })],
    ['key bytes as hex, upper case', () => ({ hex: bytesToHex(key).toUpperCase() })],
    ['key bytes as a list of numbers', () => ({ text: `[ ${Array.from(key).join(',  ')} ]` })],
    ['an error message', () => new Error(`bad value ${S}`)],
    ['an error cause', () => new Error('wrapped', { cause: { token: S } })],
    ['a WeakMap entry (shown by showHidden)', () => ({ map: new WeakMap([[{}, S]]) })],
    ['a proxy handler (shown by showProxy)', () => new Proxy({}, { note: S } as ProxyHandler<object>)],
  ];
  test.each(cases)('%s', (_name, make) => {
    expect(secretLeaks(make(), [S, key]).length).toBeGreaterThan(0);
  });

  test('an object that keeps its secret in a #private field or a closure passes', () => {
    class Hidden {
      readonly #token = S;
      readonly #key = Uint8Array.from(key);
      readonly check = (() => {
        const closed = S;
        return (text: string) => text === closed;
      })();
      length() {
        return this.#token.length + this.#key.length;
      }
    }
    expectNoSecret(new Hidden(), [S, key]);
  });
});

describe('no secret in what the library returns', () => {
  const keystore = new TempKeystore();
  beforeAll(() => keystore.import(1, PASSWORD, privateKey));
  afterAll(() => {
    keystore.remove();
    nodes.removeAll();
  });

  test('a SecurityConfig keeps its password readable but never shows it', () => {
    const parsed = parseSecurityConfig(`[security]\n${HSM_SECURITY}\n`);
    expect(parsed.password).toBe(PASSWORD);
    expectNoSecret(parsed, [PASSWORD]);
    const loaded = loadSecurityConfig(nodes.config(HSM_SECURITY));
    expect(loaded.password).toBe(PASSWORD);
    expectNoSecret(loaded, [PASSWORD]);
    const derived = createSecurityConfig({ ...loaded, password: loaded.password, keyIndex: 2 });
    expect(derived.password).toBe(PASSWORD);
    expectNoSecret(derived, [PASSWORD]);
  });

  test('a ConfigError about a bad value next to the password shows neither', () => {
    const error = (() => {
      try {
        return parseSecurityConfig(`[security]\nenable_hsm=yes\r\npassword=${PASSWORD}\r\n`);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'CONFIG_BAD_BOOLEAN' });
    expectNoSecret(error, [PASSWORD]);
  });

  test('a software signer never shows its private key (in process, on threads, from a key file), nor after close', async () => {
    const folder = nodes.config('private_key_path=conf/node.pem');
    const keyFile = join(dirname(folder), 'conf', 'node.pem');
    const signers = [
      SoftwareSigner.fromPrivateKey(privateKey),
      SoftwareSigner.fromPrivateKey(privateKey, { threads: 1 }),
      SoftwareSigner.fromKeyFile(keyFile),
      await createSigner(folder),
    ];
    for (const signer of signers) {
      expect(signer.publicKey).toEqual(publicKey);
      await signer.sign(Buffer.from('x'));
      expectNoSecret(signer, [privateKey]);
      await signer.close();
      expectNoSecret(signer, [privateKey]);
      await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'SIGNER_CLOSED' });
    }
  });

  test('a remote signer never shows its token or its TLS client key; nor do its errors', async () => {
    const clientKey = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(privateKey).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    const service = createServer((request, response) => {
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'bad token' } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify([{ keyIndex: null, publicKey: bytesToHex(publicKey) }]));
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
    try {
      const opts = { url, token: TOKEN, key: clientKey, cert: 'not used over http' };
      const signer = await createRemoteSigner(opts);
      try {
        expectNoSecret(signer, [TOKEN, privateKey, clientKey.slice(28, 60)]);
      } finally {
        await signer.close();
      }
      const refused = await createRemoteSigner({ ...opts, token: `${TOKEN}-wrong` }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RemoteSignerError);
      expectNoSecret(refused, [TOKEN]);
    } finally {
      await new Promise((resolve) => service.close(resolve));
    }
  });

  test('a remote signer error with no answer (refused, timed out) shows no token', async () => {
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const timedOut = await createRemoteSigner({ url, token: TOKEN, timeoutMs: 200, retry: { attempts: 1 } }).catch(
        (e: unknown) => e,
      );
      expect(timedOut).toMatchObject({ status: 0, code: 'CONNECTION_FAILED' });
      expectNoSecret(timedOut, [TOKEN]);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
    const refused = await createRemoteSigner({ url, token: TOKEN, retry: { attempts: 1 } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 0, code: 'CONNECTION_FAILED' });
    expectNoSecret(refused, [TOKEN]);
  });

  test('a remote signer built from config.ini (remote_signer_token_file) never shows the token', async () => {
    const service = createServer((request, response) => {
      const allowed = request.headers.authorization === `Bearer ${TOKEN}`;
      response.writeHead(allowed ? 200 : 401, { 'content-type': 'application/json' });
      response.end(JSON.stringify(allowed ? [{ keyIndex: null, publicKey: bytesToHex(publicKey) }] : {}));
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
      const configPath = nodes.config(`remote_signer_url=${url}\nremote_signer_token_file=conf/signer.token`);
      writeFileSync(join(dirname(configPath), 'conf', 'signer.token'), `${TOKEN}\n`);
      const config = loadSecurityConfig(configPath);
      expectNoSecret(config, [TOKEN]);
      const signer = await createSigner(config);
      try {
        expect(signer.backend).toBe('remote');
        expectNoSecret(signer, [TOKEN, privateKey]);
      } finally {
        await signer.close();
      }
    } finally {
      await new Promise((resolve) => service.close(resolve));
    }
  });

  test('an SDF error for a wrong password shows neither the wrong nor the right one', async () => {
    const device = await openDevice(MOCK_LIB);
    try {
      const session = await device.openSession();
      const wrong = `${PASSWORD}-not`;
      const error = await session.getPrivateKeyAccessRight(1, wrong).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SdfError);
      expectNoSecret(error, [wrong, PASSWORD]);
    } finally {
      await device.close();
    }
  });

  test('an SDF device and session unlocked with the password show neither it nor the key', async () => {
    const device = await openDevice(MOCK_LIB);
    try {
      const session = await device.openSession();
      await session.getPrivateKeyAccessRight(1, PASSWORD);
      expectNoSecret(session, [PASSWORD, privateKey]);
      expectNoSecret(device, [PASSWORD, privateKey]);
    } finally {
      await device.close();
    }
  });

  test('an HSM signer shows neither the password nor the key, however it is inspected', async () => {
    const signer = await createSigner(parseSecurityConfig(`[security]\n${HSM_SECURITY}\n`));
    try {
      expectNoSecret(signer, [PASSWORD, privateKey]);
    } finally {
      await signer.close();
    }
  });
});
