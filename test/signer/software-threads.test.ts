// The software signer on worker threads (SoftwareSigner { threads }, used by gmt0018 serve): the
// same standard signatures as on the calling thread, every task settled, threads replaced.
// The threads run dist/sign-worker.js: `npm test` builds it first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from '../../src/config';
import {
  bytesToHex,
  generatePrivateKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2VerifyDigest,
} from '../../src/sm2';
import { SignerClosedError, SoftwareSigner } from '../../src/signer';
import { SignWorkers } from '../../src/signer/sign-workers';
import { opensslOracle, smCryptoOracle } from '../helpers/oracles';

const message = new TextEncoder().encode('a block signed on a worker thread');

describe('SoftwareSigner with threads', () => {
  const privateKey = generatePrivateKey();
  let signer: SoftwareSigner;

  beforeAll(() => {
    signer = SoftwareSigner.fromPrivateKey(privateKey, { threads: 2 });
  });
  afterAll(() => signer.close());

  it('signs on its threads, verified by OpenSSL and sm-crypto', async () => {
    expect(signer.threads).toBe(2);
    expect(signer.publicKey).toEqual(publicKeyFromPrivateKey(privateKey));
    const signature = await signer.sign(message);
    expect(opensslOracle.verify(signer.publicKey, message, signature)).toBe(true);
    expect(smCryptoOracle.verify(signer.publicKey, message, signature)).toBe(true);
  });

  it('settles 300 concurrent signs, each a valid signature of its own digest', async () => {
    const digests = Array.from({ length: 300 }, (_, i) => sm2Digest(signer.publicKey, message.subarray(0, i % 30)));
    const signatures = await Promise.all(digests.map((digest) => signer.signDigest(digest)));
    digests.forEach((digest, i) => expect(sm2VerifyDigest(signer.publicKey, digest, signatures[i]!)).toBe(true));
    expect(new Set(signatures.map(bytesToHex)).size).toBe(300);
  });

  it('rejects a bad digest before it reaches a thread', async () => {
    await expect(signer.signDigest(new Uint8Array(31))).rejects.toThrow(RangeError);
  });

  it('shows no key material', () => {
    const shown = inspect(signer, { showHidden: true, depth: 5 }) + JSON.stringify(signer);
    expect(shown).not.toContain(bytesToHex(privateKey));
    expect(shown).toContain(signer.nodeId);
  });
});

describe('SignWorkers', () => {
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyFromPrivateKey(privateKey);
  const digest = sm2Digest(publicKey, message);

  it('signs the tasks in flight at close(), and refuses later ones with SignerClosedError', async () => {
    const workers = new SignWorkers(privateKey, 1);
    const settled = Promise.allSettled(Array.from({ length: 50 }, () => workers.signDigest(digest)));
    const closed = workers.close();
    await expect(workers.signDigest(digest)).rejects.toBeInstanceOf(SignerClosedError);
    await closed;
    for (const outcome of await settled) {
      expect(outcome.status).toBe('fulfilled');
      expect(sm2VerifyDigest(publicKey, digest, (outcome as PromiseFulfilledResult<Uint8Array>).value)).toBe(true);
    }
    await expect(workers.signDigest(digest)).rejects.toBeInstanceOf(SignerClosedError);
  });

  it('zeroes the key its threads read when it closes', async () => {
    // A stand-in worker that answers every task with the key it was given.
    const dir = mkdtempSync(join(tmpdir(), 'gmt0018-threads-'));
    const file = join(dir, 'key-echo-worker.js');
    writeFileSync(
      file,
      `const { parentPort, workerData } = require('node:worker_threads');
       parentPort.on('message', (task) => parentPort.postMessage({ id: task.id, signature: workerData.privateKey }));`,
    );
    const workers = new SignWorkers(privateKey, 2, file);
    try {
      const seen = await workers.signDigest(digest);
      expect(bytesToHex(seen)).toBe(bytesToHex(privateKey));
      await workers.close();
      // The very memory the threads read, not a copy of it, is zero now.
      expect(Object.prototype.toString.call(seen.buffer)).toBe('[object SharedArrayBuffer]'); // jest's realm has its own class
      expect(seen.every((byte) => byte === 0)).toBe(true);
      expect(bytesToHex(privateKey)).not.toBe('00'.repeat(32)); // the caller's own copy is its own
    } finally {
      await workers.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a thread that dies: its tasks fail with an error, later tasks are signed', async () => {
    const workers = new SignWorkers(privateKey, 1);
    try {
      await workers.signDigest(digest); // the thread is up
      const thread = (workers as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0]!;
      // 200 signs take the thread ~40 ms; it is stopped at once, so most of them are still queued.
      const doomed = Array.from({ length: 200 }, () => workers.signDigest(digest));
      await thread.worker.terminate();
      const outcomes = await Promise.allSettled(doomed);
      const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) expect(String(failure.reason)).toMatch(/signing thread exited/);
      expect(sm2VerifyDigest(publicKey, digest, await workers.signDigest(digest))).toBe(true);
    } finally {
      await workers.close();
    }
  });

  it('does not respawn a thread that never came up: every call fails at once', async () => {
    const workers = new SignWorkers(privateKey, 1, resolve(__dirname, 'no-such-worker.js'));
    try {
      await expect(workers.signDigest(digest)).rejects.toThrow(/software signing failed/);
      await expect(workers.signDigest(digest)).rejects.toThrow(/software signing failed/);
      const threads = (workers as unknown as { threads: unknown[] }).threads;
      expect(threads).toHaveLength(1);
    } finally {
      await workers.close();
    }
  });

  it('rejects a thread count out of range', () => {
    expect(() => new SignWorkers(privateKey, 0)).toThrow(RangeError);
    expect(() => new SignWorkers(privateKey, 1.5)).toThrow(RangeError);
    expect(() => SoftwareSigner.fromPrivateKey(privateKey, { threads: 257 })).toThrow(/from 1 to 256, got 257/);
    // From a key file too, and not mistaken for a bad key file.
    const dir = mkdtempSync(join(tmpdir(), 'gmt0018-threads-'));
    try {
      writeFileSync(join(dir, 'node.pem'), privateKeyToPem(privateKey));
      const error = (() => {
        try {
          SoftwareSigner.fromKeyFile(join(dir, 'node.pem'), { threads: 257 });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(RangeError);
      expect(error).not.toBeInstanceOf(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets the process exit when its signer is idle but never closed', () => {
    const script = `
      const gm = require(${JSON.stringify(resolve(__dirname, '../../dist/index.js'))});
      const signer = gm.SoftwareSigner.fromPrivateKey(gm.generatePrivateKey(), { threads: 2 });
      signer.sign(new Uint8Array([1, 2, 3])).then((sig) => console.log('signed', sig.length));
    `;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('signed 64');
  });
});
