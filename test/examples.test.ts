// Runs every example the way the README tells users to (`node examples/<name>`), against the
// built package (`npm run build`) and the mock card, and checks what it prints.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bytesToHex, hexToBytes, parsePrivateKey, publicKeyFromPrivateKey } from '../src/sm2';
import { TempKeystore } from './helpers/mock-card';
import { opensslOracle } from './helpers/oracles';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smCrypto = require('sm-crypto');

const ROOT = resolve(__dirname, '..');
// The examples provision the card themselves; a temporary keystore keeps the repository clean.
const keystore = new TempKeystore();

afterAll(() => keystore.remove());

function example(file: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join('examples', file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GMT0018_MOCK_KEYSTORE: keystore.dir },
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** `label:   value` lines as an object. */
function fields(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.split('\n').map((line) => line.split(/:\s+/, 2) as [string, string]));
}

/** The key both example nodes hold, written by the examples as the software node's conf/node.pem. */
function exampleNodePublicKey(): Uint8Array {
  const file = join(ROOT, 'examples', 'node-software', 'conf', 'node.pem');
  return publicKeyFromPrivateKey(parsePrivateKey(readFileSync(file), file));
}

describe('examples', () => {
  it('sign-and-verify.mjs signs with the card and the software key, which share one node ID', () => {
    const result = example('sign-and-verify.mjs');
    expect(result).toMatchObject({ status: 0, stderr: '' });
    const nodes = [...result.stdout.matchAll(/^(software|hsm)\s+node ([0-9a-f]{16})….*verified: true$/gm)];
    expect(nodes.map((match) => match[1])).toEqual(['software', 'hsm']);
    expect(nodes[0][2]).toBe(nodes[1][2]);
    expect(nodes[0][2]).toBe(bytesToHex(exampleNodePublicKey()).slice(0, 16));
  });

  it.each([
    ['the HSM node', [], 'hsm'],
    ['the software node', [join('examples', 'node-software', 'config.ini')], 'software'],
  ])('transaction-signer.mjs signs a transaction hash with %s in the FISCO form', (_, args, backend) => {
    const result = example('transaction-signer.mjs', ...args);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    const out = fields(result.stdout);
    expect(out.backend).toBe(backend);
    expect(out.verified).toBe('true');
    const wire = hexToBytes(out.signature.split(' ')[0]);
    expect(wire).toHaveLength(128);
    const publicKey = wire.subarray(64);
    expect(bytesToHex(publicKey)).toBe(out['node id']);
    expect(out['node id']).toBe(bytesToHex(exampleNodePublicKey()));
    // sm-crypto with hash: false takes the 32 bytes as the digest e itself.
    const verifies = smCrypto.sm2.doVerifySignature(
      Array.from(hexToBytes(out['tx hash'])),
      bytesToHex(wire.subarray(0, 64)),
      `04${bytesToHex(publicKey)}`,
      { hash: false, der: false },
    );
    expect(verifies).toBe(true);
  });

  it('pkcs11-softhsm.mjs signs with P-256, secp256k1 and Ed25519 keys in a SoftHSM token, node:crypto verifying', () => {
    const run = example('pkcs11-softhsm.mjs');
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(['ecdsa-p256', 'ecdsa-secp256k1', 'ed25519']);
    for (const line of lines) expect(line).toMatch(/node:crypto verifies: true$/);
  });

  it('verify-batch.mjs rejects exactly the tampered signature', () => {
    const result = example('verify-batch.mjs');
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toBe('verified 15 of 16 signatures\nrejected: #8 (tampered: #8)');
    expect(example('verify-batch.mjs', '4').stdout).toBe('verified 3 of 4 signatures\nrejected: #2 (tampered: #2)');
    const bad = example('verify-batch.mjs', 'many');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('count must be an integer');
  });

  it('low-level-session.mjs walks the SDF calls and its signature verifies with OpenSSL', () => {
    const result = example('low-level-session.mjs');
    expect(result).toMatchObject({ status: 0, stderr: '' });
    const out = fields(result.stdout);
    expect(out.device).toContain('gmt0018 mock');
    expect(out.key).toMatch(/^index 1, public key [0-9a-f]{32}…$/);
    expect(out.verify).toBe('by the card true, in JavaScript true');
    expect(out.closed).toBe('session and device');
    const message = Buffer.from('signed inside the card');
    expect(opensslOracle.verify(exampleNodePublicKey(), message, hexToBytes(out.sign))).toBe(true);
  });

  it.each([
    ['quick-start.cjs', 'require'],
    ['quick-start.mjs', 'import'],
  ])('%s signs and verifies with a software key through %s', (file, how) => {
    const result = example(file);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^${how}: software node [0-9a-f]{16}… verified: true$`));
  });
});
