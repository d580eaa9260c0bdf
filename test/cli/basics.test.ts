import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generatePrivateKey,
  hexToBytes,
  publicKeyFromPrivateKey,
  bytesToHex,
  sm2Verify,
  privateKeyToPem,
} from '../../src/sm2';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { runCli } from '../helpers/cli';
import { NodeFolders } from '../helpers/node-config';
import { opensslOracle } from '../helpers/oracles';

const PASSWORD = 'cli#;pass word';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);

function gmt0018(args: string[], input?: string | Buffer) {
  return runCli(args, { input, keystore: keystore.dir });
}

const nodes = new NodeFolders(privateKey);
const node = (security: string) => nodes.config(security);

let hsmConfig: string;
let softwareConfig: string;

beforeAll(() => {
  const keyFile = join(keystore.dir, 'import-me.pem');
  writeFileSync(keyFile, privateKeyToPem(privateKey));
  const imported = gmt0018([
    'mock-import',
    '--keystore',
    keystore.dir,
    '--index',
    '2',
    '--password',
    PASSWORD,
    '--key',
    keyFile,
  ]);
  expect(imported).toMatchObject({ status: 0 });
  expect(imported.stdout).toContain(bytesToHex(publicKey));
  hsmConfig = node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=2\npassword=${PASSWORD}`);
  softwareConfig = node('enable_hsm=false\nprivate_key_path=conf/node.pem');
});

afterAll(() => {
  keystore.remove();
  nodes.removeAll();
});

describe.each([
  ['hsm', () => hsmConfig],
  ['software', () => softwareConfig],
])('gmt0018 with the %s backend', (backend, config) => {
  it('pubkey and nodeid print the key of the config', () => {
    expect(gmt0018(['pubkey', '--config', config()])).toEqual({ status: 0, stdout: bytesToHex(publicKey), stderr: '' });
    expect(gmt0018(['nodeid', '--config', config()]).stdout).toBe(bytesToHex(publicKey));
    const json = JSON.parse(gmt0018(['nodeid', '--config', config(), '--json']).stdout);
    expect(json).toEqual({ backend, nodeId: bytesToHex(publicKey) });
  });

  it('pubkey --format pem gives a key OpenSSL reads', () => {
    const pem = gmt0018(['pubkey', '--config', config(), '--format', 'pem']).stdout;
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const file = join(keystore.dir, `${backend}.pub.pem`);
    writeFileSync(file, `${pem}\n`);
    const signature = opensslOracle.sign(privateKey, Buffer.from('pem'));
    expect(
      gmt0018([
        'verify',
        '--pubkey',
        file,
        '--hex',
        bytesToHex(Buffer.from('pem')),
        '--signature',
        bytesToHex(signature),
      ]).status,
    ).toBe(0);
  });

  it('sign then verify round-trips; the signature also verifies with OpenSSL', () => {
    const data = Buffer.from('hello chain');
    const signed = gmt0018(['sign', '--config', config(), '--hex', data.toString('hex')]);
    expect(signed.status).toBe(0);
    const signature = hexToBytes(signed.stdout);
    expect(sm2Verify(publicKey, data, signature)).toBe(true);
    expect(opensslOracle.verify(publicKey, data, signature)).toBe(true);
    const verified = gmt0018([
      'verify',
      '--pubkey',
      bytesToHex(publicKey),
      '--hex',
      data.toString('hex'),
      '--signature',
      signed.stdout,
    ]);
    expect(verified).toEqual({ status: 0, stdout: 'valid', stderr: '' });
  });

  it('signs standard input and writes the FISCO and DER forms', () => {
    const fisco = gmt0018(['sign', '--config', config(), '--format', 'fisco'], 'from stdin');
    expect(fisco.status).toBe(0);
    expect(fisco.stdout).toHaveLength(256);
    expect(fisco.stdout.slice(128)).toBe(bytesToHex(publicKey));
    const der = gmt0018(['sign', '--config', config(), '--format', 'der'], 'from stdin');
    expect(der.stdout.startsWith('30')).toBe(true);
    for (const signature of [fisco.stdout, der.stdout]) {
      expect(
        gmt0018(['verify', '--pubkey', bytesToHex(publicKey), '--signature', signature], 'from stdin').status,
      ).toBe(0);
    }
  });
});

describe('gmt0018 exit codes and errors', () => {
  it('exits 1 when a signature does not verify', () => {
    const data = Buffer.from('x').toString('hex');
    const signature = bytesToHex(opensslOracle.sign(privateKey, Buffer.from('y')));
    const result = gmt0018(['verify', '--pubkey', bytesToHex(publicKey), '--hex', data, '--signature', signature]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('invalid');
  });

  it('exits 2 with one line naming the problem for a bad config, and never shows the password', () => {
    const config = node(`enable_hsm=TRUE\nhsm_lib_path=${MOCK_LIB}\nkey_index=2\npassword=${PASSWORD}`);
    const result = gmt0018(['sign', '--config', config, '--hex', '00']);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('CONFIG_BAD_BOOLEAN');
    expect(result.stderr).toContain('enable_hsm');
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('exits 3 with the SDR code for a wrong password, and never shows it', () => {
    const config = node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=2\npassword=Not-${PASSWORD}`);
    const result = gmt0018(['nodeid', '--config', config]);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('SDR_PARDENY');
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('exits 2 with the usage for unknown options or a missing --config', () => {
    expect(gmt0018(['sign', '--nope']).status).toBe(2);
    const missing = gmt0018(['nodeid']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--config is required');
    expect(gmt0018(['frobnicate']).status).toBe(2);
  });

  it('prints help for the tool and for each command', () => {
    const help = gmt0018(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['info', 'pubkey', 'nodeid', 'sign', 'verify', 'mock-import']) {
      expect(help.stdout).toContain(command);
      const own = gmt0018([command, '--help']);
      expect(own.status).toBe(0);
      expect(own.stdout).toContain(`gmt0018 ${command}`);
    }
  });

  it('mock-import --generate writes a key the card can use, and refuses to overwrite without --force', () => {
    const args = ['mock-import', '--keystore', keystore.dir, '--index', '5', '--password', 'p', '--generate', '--json'];
    const first = gmt0018(args);
    expect(first.status).toBe(0);
    const { nodeId } = JSON.parse(first.stdout);
    expect(readFileSync(join(keystore.dir, 'sign-5.key'), 'utf8')).not.toContain('password=');
    const again = gmt0018(args);
    expect(again.status).toBe(3);
    expect(again.stderr).toContain('--force');
    const config = node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=5\npassword=p`);
    expect(gmt0018(['nodeid', '--config', config]).stdout).toBe(nodeId);
  });
});
