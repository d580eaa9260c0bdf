/**
 * Through a PKCS#11 proxy, as Fabric deployments use one: p11-kit's server in front of SoftHSM,
 * gmt0018 on p11-kit's client module. The server restarts under load; the client module then
 * answers CKR_DEVICE_ERROR to every call until it is finalised and initialised again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { Pkcs11Signer } from '../../src/signer';
import { SIGNER_DISPATCHES } from '../helpers/mock-card';
import { setNativeEnv, SOFTHSM_MODULE, SoftHsmToken } from '../helpers/softhsm';

const CLIENT_MODULE = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so',
].find((path) => existsSync(path)) as string;

const token = new SoftHsmToken('proxied');
const socket = join(token.dir, 'p11kit.sock');
let server: ChildProcess | undefined;

async function startServer(): Promise<void> {
  server = spawn(
    'p11-kit',
    ['server', '--provider', SOFTHSM_MODULE, '-f', '-n', socket, `pkcs11:token=${token.label}`],
    {
      env: { ...process.env, SOFTHSM2_CONF: token.conf },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.once('data', () => resolve());
    server?.once('exit', (code) => reject(new Error(`p11-kit server exited with ${code}`)));
  });
}

async function stopServer(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  token.generate('EC:prime256v1', 'proxied-key', '0a');
  setNativeEnv('P11_KIT_SERVER_ADDRESS', `unix:path=${socket}`);
  await startServer();
});
afterAll(async () => {
  await stopServer();
  token.remove();
});

it.each(SIGNER_DISPATCHES)(
  'rides out a restart of the proxy server under load (%s): no request lost, no bad signature',
  async (_, dispatch) => {
    const signer = await Pkcs11Signer.open(
      { library: CLIENT_MODULE, tokenLabel: token.label, pin: token.pin, keyLabel: 'proxied-key' },
      { retry: { attempts: 30, baseDelayMs: 20, maxDelayMs: 200 }, ...dispatch(3) },
    );
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: b64(signer.publicKey.subarray(0, 32)), y: b64(signer.publicKey.subarray(32)) },
      format: 'jwk',
    });
    try {
      const results: (Uint8Array | Error)[] = [];
      let sent = 0;
      let running = true;
      const worker = async () => {
        while (running) {
          const i = sent++;
          const message = Buffer.from(`through the proxy ${i}`);
          try {
            const signature = await signer.sign(message);
            results[i] = nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature)
              ? signature
              : new Error(`signature ${i} does not verify`);
          } catch (error) {
            results[i] = error as Error;
          }
        }
      };
      const load = Promise.all(Array.from({ length: 6 }, worker));
      await new Promise((resolve) => setTimeout(resolve, 150));
      await stopServer();
      const atStop = sent;
      await new Promise((resolve) => setTimeout(resolve, 100));
      await startServer();
      const atRestart = sent;
      await new Promise((resolve) => setTimeout(resolve, 300));
      running = false;
      await load;
      const failures = results.filter((r) => r instanceof Error);
      expect(failures).toEqual([]);
      expect(results.length).toBe(sent);
      // requests were waiting while the server was down, and signing went on after it came back
      expect(atStop).toBeGreaterThan(0);
      expect(sent - atRestart).toBeGreaterThan(50);
    } finally {
      await signer.close();
    }
  },
);
