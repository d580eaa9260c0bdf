// Success paths, failure paths and exit codes of every command that test/cli/basics.test.ts leaves out,
// and the keygen command. Spawns dist/cli.js: run `npm run build` first.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bytesToHex,
  generatePrivateKey,
  hexToBytes,
  nodeIdOf,
  parsePrivateKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2VerifyDigest,
  toFiscoSignature,
} from '../../src/sm2';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { runCli } from '../helpers/cli';
import { NodeFolders } from '../helpers/node-config';
import { opensslOracle } from '../helpers/oracles';

const keystore = new TempKeystore();
const work = mkdtempSync(join(tmpdir(), 'gmt0018-cli-'));
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
// A shared library that exists on every Linux machine and exports no SDF function.
const LIBC = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/aarch64-linux-gnu/libc.so.6',
  '/lib64/libc.so.6',
  '/usr/lib/libc.so.6',
].find((path) => existsSync(path)) as string;

function gmt0018(args: string[], opts: { input?: string; cwd?: string } = {}) {
  return runCli(args, { input: opts.input, cwd: opts.cwd ?? work, keystore: keystore.dir });
}

/** A failure: the exit code, and one `gmt0018 <command>: CODE: message` line (plus usage for USAGE). */
function expectFailure(result: ReturnType<typeof gmt0018>, status: number, command: string, code: string): void {
  expect(result.status).toBe(status);
  expect(result.stdout).toBe('');
  const [line, ...rest] = result.stderr.split('\n');
  expect(line).toMatch(new RegExp(`^gmt0018 ${command}: ${code}: \\S`));
  if (code !== 'USAGE') return expect(rest).toEqual([]);
  // The command's usage follows, possibly over several indented lines.
  expect(rest[0]).toMatch(new RegExp(`^usage: gmt0018 ${command} `));
  for (const more of rest.slice(1)) expect(more).toMatch(/^\s+gmt0018 /);
}

const nodes = new NodeFolders(privateKey);
const node = (security: string) => nodes.config(security);

let hsmConfig: string;
let softwareConfig: string;

beforeAll(() => {
  keystore.import(3, 'pw', privateKey);
  hsmConfig = node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=3\npassword=pw`);
  softwareConfig = node('enable_hsm=false\nprivate_key_path=conf/node.pem');
});

afterAll(() => {
  keystore.remove();
  nodes.removeAll();
  rmSync(work, { recursive: true, force: true });
});

describe('gmt0018 keygen', () => {
  it('writes conf/node.pem as PKCS#8 PEM, owner-only, that OpenSSL reads and a software node signs with', () => {
    const dir = mkdtempSync(join(work, 'node-'));
    const result = gmt0018(['keygen'], { cwd: dir });
    expect(result.status).toBe(0);
    const file = join(dir, 'conf', 'node.pem');
    const pem = readFileSync(file, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const nodeId = nodeIdOf(publicKeyFromPrivateKey(parsePrivateKey(pem)));
    expect(result.stdout).toBe(`wrote SM2 private key to ${file} (PKCS#8 PEM, mode 0600)\nnode id: ${nodeId}`);

    const openssl = spawnSync('openssl', ['pkey', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
    expect(openssl.status).toBe(0);
    expect(openssl.stdout).toContain('ASN1 OID: SM2');

    writeFileSync(join(dir, 'config.ini'), '[security]\nenable_hsm=false\nprivate_key_path=conf/node.pem\n');
    expect(gmt0018(['nodeid', '--config', join(dir, 'config.ini')]).stdout).toBe(nodeId);
  });

  it('refuses to overwrite a key without --force, and --force leaves the new key owner-only', () => {
    const file = join(work, 'existing.pem');
    writeFileSync(file, 'keep me', { mode: 0o644 });
    chmodSync(file, 0o644);
    expectFailure(gmt0018(['keygen', '--out', file]), 2, 'keygen', 'USAGE');
    expect(gmt0018(['keygen', '--out', file]).stderr).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('keep me');

    expect(gmt0018(['keygen', '--out', file, '--force']).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('writes SEC1 PEM with --sec1 and bare hex with --format hex; --json names the key, never shows it', () => {
    const sec1 = join(work, 'sec1.pem');
    const json = JSON.parse(gmt0018(['keygen', '--out', sec1, '--sec1', '--json']).stdout);
    const sec1Key = parsePrivateKey(readFileSync(sec1, 'utf8'));
    expect(readFileSync(sec1, 'utf8')).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    const sec1Public = publicKeyFromPrivateKey(sec1Key);
    expect(json).toEqual({
      file: sec1,
      format: 'sec1',
      publicKey: bytesToHex(sec1Public),
      nodeId: nodeIdOf(sec1Public),
    });
    expect(opensslOracle.verify(sec1Public, Buffer.from('m'), opensslOracle.sign(sec1Key, Buffer.from('m')))).toBe(
      true,
    );

    const hexFile = join(work, 'key.hex');
    const hexResult = gmt0018(['keygen', '--out', hexFile, '--format', 'hex', '--json']);
    const hexText = readFileSync(hexFile, 'utf8');
    expect(hexText).toMatch(/^[0-9a-f]{64}\n$/);
    expect(hexResult.stdout).not.toContain(hexText.trim());
    expect(JSON.parse(hexResult.stdout).nodeId).toBe(nodeIdOf(publicKeyFromPrivateKey(hexToBytes(hexText.trim()))));
  });

  it('--force refuses a symbolic link or a hard link at --out: the file it leads to is unchanged', () => {
    const dir = mkdtempSync(join(work, 'links-'));
    const other = join(dir, 'other-file');
    writeFileSync(other, 'not yours to overwrite');
    const symlink = join(dir, 'node.pem');
    symlinkSync(other, symlink);
    const viaSymlink = gmt0018(['keygen', '--out', symlink, '--force']);
    expectFailure(viaSymlink, 2, 'keygen', 'USAGE');
    expect(viaSymlink.stderr.split('\n')[0]).toContain(
      `--out ${symlink} is a symbolic link; refusing to write through it`,
    );
    expect(readFileSync(other, 'utf8')).toBe('not yours to overwrite');
    expect(lstatSync(symlink).isSymbolicLink()).toBe(true);

    const hardLink = join(dir, 'hard.pem');
    linkSync(other, hardLink);
    const viaHardLink = gmt0018(['keygen', '--out', hardLink, '--force']);
    expectFailure(viaHardLink, 2, 'keygen', 'USAGE');
    expect(viaHardLink.stderr.split('\n')[0]).toContain('has other hard links; refusing to replace it');
    expect(readFileSync(other, 'utf8')).toBe('not yours to overwrite');

    // Without --force, a link at the target is an existing file like any other.
    expectFailure(gmt0018(['keygen', '--out', symlink]), 2, 'keygen', 'USAGE');
    expect(readFileSync(other, 'utf8')).toBe('not yours to overwrite');
  });

  it('exits 2 for a bad format, --sec1 with hex, or an --out it cannot write', () => {
    expectFailure(gmt0018(['keygen', '--out', join(work, 'a.pem'), '--format', 'der']), 2, 'keygen', 'USAGE');
    expectFailure(gmt0018(['keygen', '--out', join(work, 'b.pem'), '--format', 'hex', '--sec1']), 2, 'keygen', 'USAGE');
    const notADirectory = join(work, 'plain-file');
    writeFileSync(notADirectory, '');
    const result = gmt0018(['keygen', '--out', join(notADirectory, 'node.pem')]);
    expectFailure(result, 2, 'keygen', 'USAGE');
    expect(result.stderr.split('\n')[0]).toContain(`cannot create the folder ${notADirectory}`);
  });
});

describe('option values name own entries only', () => {
  // Names every object has through Object.prototype: a lookup with `in` or a plain index finds them.
  const INHERITED = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

  it.each(INHERITED)('sign --format %s is a usage error, found before any device work', (value) => {
    const result = gmt0018(['sign', '--config', hsmConfig, '--hex', '00', '--format', value]);
    expectFailure(result, 2, 'sign', 'USAGE');
    expect(result.stderr).toContain(`--format must be hex, der or fisco, got ${value}`);
    // A card library that does not exist: the option is refused before the device is opened.
    const noCard = node(`enable_hsm=true\nhsm_lib_path=${join(work, 'no-such-lib.so')}\nkey_index=3\npassword=pw`);
    expectFailure(gmt0018(['sign', '--config', noCard, '--hex', '00', '--format', value]), 2, 'sign', 'USAGE');
  });

  it.each(INHERITED)('every other option that takes a name refuses %s', (value) => {
    const out = join(work, `inherited-${value}.pem`);
    const cases: [string, string[]][] = [
      ['pubkey', ['pubkey', '--config', hsmConfig, '--format', value]],
      ['keygen', ['keygen', '--out', out, '--format', value]],
      ['bench', ['bench', '--config', hsmConfig, '--hash', value, '--ops', '1']],
      ['serve', ['serve', '--config', softwareConfig, '--insecure-no-auth', '--log-level', value]],
    ];
    for (const [command, args] of cases) expectFailure(gmt0018(args), 2, command, 'USAGE');
    expect(existsSync(out)).toBe(false);
  });
});

describe('gmt0018 info', () => {
  it('exits 2 when --lib is missing or names no file, and 3 when the library is no SDF library', () => {
    expectFailure(gmt0018(['info']), 2, 'info', 'USAGE');
    const missing = gmt0018(['info', '--lib', join(work, 'libnothing.so')]);
    expectFailure(missing, 2, 'info', 'SDF_LIBRARY_NOT_FOUND');
    expect(missing.stderr).toContain(join(work, 'libnothing.so'));
    const notSdf = gmt0018(['info', '--lib', LIBC]);
    expectFailure(notSdf, 3, 'info', 'SDF_SYMBOL_MISSING');
    expect(notSdf.stderr).toContain('SDF_OpenDevice');
  });
});

describe('gmt0018 pubkey and nodeid', () => {
  it('pubkey --json gives backend, format and key', () => {
    const json = JSON.parse(gmt0018(['pubkey', '--config', hsmConfig, '--json']).stdout);
    expect(json).toEqual({ backend: 'hsm', algorithm: 'sm2', format: 'hex', publicKey: bytesToHex(publicKey) });
  });

  it('exits 2 for a bad --format or a config file that does not exist', () => {
    expectFailure(gmt0018(['pubkey', '--config', softwareConfig, '--format', 'der']), 2, 'pubkey', 'USAGE');
    const result = gmt0018(['pubkey', '--config', join(work, 'no', 'config.ini')]);
    expectFailure(result, 2, 'pubkey', 'CONFIG_FILE_UNREADABLE');
    expect(result.stderr).toContain(join(work, 'no', 'config.ini'));
  });

  it('exits 3 with SDR_KEYNOTEXIST for a key index the card does not hold', () => {
    const config = node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=9\npassword=pw`);
    const result = gmt0018(['nodeid', '--config', config]);
    expectFailure(result, 3, 'nodeid', 'SDR_KEYNOTEXIST');
    expect(result.stderr).not.toContain('pw');
  });

  it('exits 2 when a software node has no key file', () => {
    const config = node('enable_hsm=false\nprivate_key_path=conf/missing.pem');
    expectFailure(gmt0018(['nodeid', '--config', config]), 2, 'nodeid', 'CONFIG_KEY_FILE');
  });
});

describe('gmt0018 sign', () => {
  it('signs a 32-byte digest with --digest; the signature verifies over that digest', () => {
    const digest = sm2Digest(publicKey, Buffer.from('tx'));
    const result = gmt0018(['sign', '--config', hsmConfig, '--hex', bytesToHex(digest), '--digest', '--json']);
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ backend: 'hsm', format: 'hex', publicKey: bytesToHex(publicKey) });
    expect(sm2VerifyDigest(publicKey, digest, hexToBytes(json.signature))).toBe(true);
    const args = ['--pubkey', bytesToHex(publicKey), '--hex', bytesToHex(digest), '--signature', json.signature];
    expect(gmt0018(['verify', ...args, '--digest'])).toMatchObject({ status: 0, stdout: 'valid' });
  });

  it('signs a file, and a --user-id that only a verifier with the same ID accepts', () => {
    const file = join(work, 'payload.bin');
    writeFileSync(file, 'payload from a file');
    const signature = gmt0018(['sign', '--config', softwareConfig, '--file', file, '--user-id', 'alice']).stdout;
    const base = ['verify', '--pubkey', bytesToHex(publicKey), '--file', file, '--signature', signature];
    expect(gmt0018([...base, '--user-id', 'alice']).status).toBe(0);
    expect(gmt0018(base)).toMatchObject({ status: 1, stdout: 'invalid' });
  });

  it.each([
    ['a digest that is not 32 bytes', ['--hex', '00', '--digest']],
    ['--user-id with --digest', ['--hex', '00'.repeat(32), '--digest', '--user-id', 'a']],
    ['both --hex and --file', ['--hex', '00', '--file', 'x']],
    ['a file that does not exist', ['--file', join(work, 'missing.bin')]],
    ['data that is not hex', ['--hex', 'xyz']],
    ['an unknown --format', ['--hex', '00', '--format', 'base64']],
  ])('exits 2 for %s', (_, args) => {
    expectFailure(gmt0018(['sign', '--config', softwareConfig, ...args]), 2, 'sign', 'USAGE');
  });
});

describe('gmt0018 verify', () => {
  const data = Buffer.from('verify me');
  const signature = opensslOracle.sign(privateKey, data);
  const base = ['verify', '--pubkey', bytesToHex(publicKey), '--hex', data.toString('hex')];

  it('--json says valid or invalid, with exit codes 0 and 1', () => {
    expect(gmt0018([...base, '--signature', bytesToHex(signature), '--json'])).toMatchObject({ status: 0 });
    expect(JSON.parse(gmt0018([...base, '--signature', bytesToHex(signature), '--json']).stdout)).toEqual({
      valid: true,
    });
    const tampered = Uint8Array.from(signature);
    tampered[63] ^= 1;
    const result = gmt0018([...base, '--signature', bytesToHex(tampered), '--json']);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ valid: false });
    expect(JSON.parse(result.stderr)).toEqual({
      error: { command: 'verify', code: 'INVALID_SIGNATURE', message: 'signature does not verify', exitCode: 1 },
    });
  });

  it('exits 1 for a FISCO signature that carries another public key', () => {
    const other = publicKeyFromPrivateKey(generatePrivateKey());
    const result = gmt0018([...base, '--signature', bytesToHex(toFiscoSignature(signature, other))]);
    expectFailure(result, 1, 'verify', 'INVALID_SIGNATURE');
  });

  it.each([
    ['a signature of the wrong length', ['--signature', '00'.repeat(10)]],
    ['a missing --signature', []],
    ['a public key off the curve', ['--signature', bytesToHex(signature), '--pubkey', '04'.padEnd(130, '1')]],
  ])('exits 2 for %s', (_, args) => {
    expectFailure(gmt0018([...base, ...args]), 2, 'verify', 'USAGE');
  });
});

describe('gmt0018 mock-import', () => {
  it('names the flag and the file when --password-file or --key cannot be read (exit 2)', () => {
    const missing = join(work, 'no-such-file');
    for (const flag of ['--password-file', '--key']) {
      const args = ['mock-import', '--keystore', keystore.dir, '--index', '8'];
      const more =
        flag === '--key' ? ['--password', 'p', '--key', missing] : ['--password-file', missing, '--generate'];
      const result = gmt0018([...args, ...more]);
      expectFailure(result, 2, 'mock-import', 'USAGE');
      expect(result.stderr).toContain(`${flag} ${missing}: cannot read (ENOENT)`);
    }
  });

  it('reads the password from --password-file; the card then signs with that key', () => {
    const keyFile = join(work, 'import.pem');
    const passwordFile = join(work, 'password.txt');
    writeFileSync(keyFile, privateKeyToPem(privateKey));
    writeFileSync(passwordFile, 'from a file\n');
    const args = ['--keystore', keystore.dir, '--index', '7', '--password-file', passwordFile, '--key', keyFile];
    const result = gmt0018(['mock-import', ...args, '--json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      keystore: keystore.dir,
      index: 7,
      usage: 'sign',
      publicKey: bytesToHex(publicKey),
      nodeId: bytesToHex(publicKey),
    });
    const config = node(`enable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=7\npassword=from a file`);
    expect(gmt0018(['nodeid', '--config', config]).stdout).toBe(bytesToHex(publicKey));
  });

  it.each([
    ['both --key and --generate', ['--password', 'p', '--generate', '--key', 'x.pem']],
    ['neither --key nor --generate', ['--password', 'p']],
    ['no password', ['--generate']],
    ['a key file that does not exist', ['--password', 'p', '--key', 'missing.pem']],
  ])('exits 2 for %s', (_, args) => {
    expectFailure(
      gmt0018(['mock-import', '--keystore', keystore.dir, '--index', '8', ...args]),
      2,
      'mock-import',
      'USAGE',
    );
  });

  it('exits 2 for a key file that holds no SM2 key, without echoing its content', () => {
    const keyFile = join(work, 'not-a-key.pem');
    writeFileSync(keyFile, 'secret-looking-content');
    const result = gmt0018([
      'mock-import',
      '--keystore',
      keystore.dir,
      '--index',
      '8',
      '--password',
      'p',
      '--key',
      keyFile,
    ]);
    expectFailure(result, 2, 'mock-import', 'BAD_INPUT');
    expect(result.stderr).not.toContain('secret-looking-content');
  });
});

describe('gmt0018 without a command', () => {
  it('prints the usage and exits 2', () => {
    const result = gmt0018([]);
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('usage: gmt0018 <command>');
    expect(result.stdout).toContain('keygen');
    const help = gmt0018(['keygen', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: gmt0018 keygen [options]');
    expect(help.stdout).toMatch(/--out FILE +where to write the key \(mode 0600\) \(default: conf\/node\.pem\)/);
  });
});
