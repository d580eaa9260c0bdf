/** gmt0018's commands and config.ini with a PKCS#11 key (SoftHSM), and the pkcs11_* keys' rules. */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, parseSecurityConfig } from '../../src/config';
import { createSigner } from '../../src/signer';
import { startSigningServer } from '../../src/server';
import { runCli } from '../helpers/cli';
import { writeNodeFolder } from '../helpers/node-config';
import { SOFTHSM_MODULE, SoftHsmToken } from '../helpers/softhsm';

const token = new SoftHsmToken('cli-token', 'cli#pin:1');
let node: { dir: string; configPath: string };

beforeAll(() => {
  token.generate('EC:prime256v1', 'node-key', 'aa01');
  node = writeNodeFolder({
    security: [
      'private_key_path=conf/node.pem',
      `pkcs11_library=${SOFTHSM_MODULE}`,
      `pkcs11_token_label=${token.label}`,
      'pkcs11_pin_file=conf/pin',
      'pkcs11_key_label=node-key',
    ].join('\n'),
  });
  writeFileSync(join(node.dir, 'conf', 'pin'), `${token.pin}\n`);
});
afterAll(() => {
  token.remove();
  rmSync(node.dir, { recursive: true, force: true });
});

describe('commands on a PKCS#11 config', () => {
  it('info --pkcs11 lists the token, its mechanisms and keys', () => {
    const run = runCli(['info', '--pkcs11', SOFTHSM_MODULE, '--pin-file', join(node.dir, 'conf', 'pin')]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/"cli-token"/);
    expect(run.stdout).toMatch(/CKM_ECDSA/);
    expect(run.stdout).toMatch(/private ecdsa-p256\s+label "node-key" id aa01/);
    expect(`${run.stdout}${run.stderr}`).not.toContain(token.pin);
  });

  it('pubkey, sign and verify: node:crypto and gmt0018 verify agree', () => {
    const hex = runCli(['pubkey', '--config', node.configPath]);
    expect(hex).toMatchObject({ status: 0 });
    expect(hex.stdout).toMatch(/^[0-9a-f]{128}$/);
    const pem = runCli(['pubkey', '--config', node.configPath, '--format', 'pem']);
    const key = createPublicKey(pem.stdout);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const signed = runCli(['sign', '--config', node.configPath, '--hex', 'c0ffee', '--json']);
    expect(signed.status).toBe(0);
    const { signature, algorithm } = JSON.parse(signed.stdout);
    expect(algorithm).toBe('ecdsa-p256');
    expect(
      nodeVerify(
        'sha256',
        Buffer.from('c0ffee', 'hex'),
        { key, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'hex'),
      ),
    ).toBe(true);
    const args = ['verify', '--algorithm', 'ecdsa-p256', '--pubkey', hex.stdout, '--signature', signature];
    expect(runCli([...args, '--hex', 'c0ffee'])).toMatchObject({ status: 0, stdout: 'valid' });
    expect(runCli([...args, '--hex', 'c0ffef'])).toMatchObject({ status: 1 });
  });

  it('refuses the FISCO format and an SM2 user ID for an ECDSA key before signing', () => {
    const run = runCli(['sign', '--config', node.configPath, '--hex', '00', '--format', 'fisco']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/for SM2 keys; this key is ecdsa-p256/);
  });

  it('bench signs on the signing threads --sign-threads asks for, and reports them', () => {
    const args = ['bench', '--config', node.configPath, '--sign-threads', '2', '--ops', '300', '--warmup', '10'];
    const run = runCli([...args, '--json']);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ backend: 'pkcs11', sessions: 2, ops: 300 });
  });
});

describe('gmt0018 serve with a PKCS#11 key', () => {
  it('lists the key with its algorithm, signs messages and verifies with that algorithm', async () => {
    const server = await startSigningServer({
      config: node.configPath,
      port: 0,
      insecureNoAuth: true,
      log: { stream: { write: () => undefined } },
    });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as any };
    };
    try {
      const keys = (await (await fetch(`${server.url}/v1/keys`)).json()) as { algorithm: string; publicKey: string }[];
      expect(keys).toEqual([expect.objectContaining({ algorithm: 'ecdsa-p256' })]);
      const publicKey = Buffer.from(keys[0].publicKey, 'hex');
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
      const key = createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: b64(publicKey.subarray(0, 32)), y: b64(publicKey.subarray(32)) },
        format: 'jwk',
      });
      const signed = await post('/v1/sign', { message: 'c0ffee' });
      expect(signed.status).toBe(200);
      const signature = Buffer.from(signed.json.signature, 'hex');
      expect(nodeVerify('sha256', Buffer.from('c0ffee', 'hex'), { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(
        true,
      );
      expect(await post('/v1/verify', { message: 'c0ffee', signature: signed.json.signature })).toMatchObject({
        status: 200,
        json: { valid: true },
      });
      expect(await post('/v1/verify', { message: 'c0ffef', signature: signed.json.signature })).toMatchObject({
        json: { valid: false },
      });
      expect(await post('/v1/sign', { message: '00', format: 'fisco' })).toMatchObject({ status: 400 });
    } finally {
      await server.close();
    }
  });
});

describe('the pkcs11_* keys of config.ini', () => {
  const security = (lines: string) => `[security]\n${lines}\n`;
  const library = `pkcs11_library=${SOFTHSM_MODULE}`;

  it('keeps the PIN as the redacted password: never in JSON, inspect or a message', () => {
    const pin = 'S3cret:pin#x';
    const config = parseSecurityConfig(
      security(`${library}\npkcs11_token_label=t\npkcs11_key_id=0xAB01\npkcs11_pin=${pin}\npkcs11_sessions=4`),
    );
    expect(config.pkcs11).toMatchObject({ library: SOFTHSM_MODULE, tokenLabel: 't', keyId: 'ab01', sessions: 4 });
    expect(config.password).toBe(pin);
    expect(JSON.stringify(config)).not.toContain(pin);
    expect(inspect(config, { showHidden: true, getters: true, depth: 6 })).not.toContain(pin);
  });

  it('reports an unreadable pkcs11_pin_file as a config error naming the key and file', async () => {
    const missing = join(node.dir, 'conf', 'no-such-pin');
    const error = await createSigner({
      enableHsm: false,
      hsmLibPath: '',
      privateKeyPath: '',
      password: '',
      pkcs11: { library: SOFTHSM_MODULE, tokenLabel: token.label, keyLabel: 'node-key', pinFile: missing },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_FILE_UNREADABLE', key: 'pkcs11_pin_file' });
    expect((error as Error).message).toContain(missing);
  });

  it.each([
    [
      'enable_hsm=true\nkey_index=1\n' + library + '\npkcs11_token_label=t\npkcs11_key_label=k',
      'CONFIG_CONFLICT',
      /enable_hsm/,
    ],
    ['pkcs11_key_label=k', 'CONFIG_MISSING_KEY', /pkcs11_library is not/],
    [library + '\npkcs11_key_label=k', 'CONFIG_MISSING_KEY', /no token is named/],
    [library + '\npkcs11_token_label=t\npkcs11_slot=1\npkcs11_key_label=k', 'CONFIG_CONFLICT', /both set/],
    [library + '\npkcs11_token_label=t', 'CONFIG_MISSING_KEY', /no key is named/],
    [library + '\npkcs11_token_label=t\npkcs11_key_id=xyz', 'CONFIG_BAD_VALUE', /is not hex/],
    [library + '\npkcs11_token_label=t\npkcs11_key_label=k\npkcs11_profile=acme', 'CONFIG_BAD_VALUE', /sansec, tass/],
    [
      library + '\npkcs11_token_label=t\npkcs11_key_label=k\npkcs11_pin=a\npkcs11_pin_file=p',
      'CONFIG_CONFLICT',
      /both set/,
    ],
  ])('refuses %j with %s', (lines, code, message) => {
    expect(() => parseSecurityConfig(security(lines))).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
  });
});
