// Smoke test of `gmt0018 bench` with a handful of signs; speed targets live in `npm run bench`.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { generatePrivateKey } from '../../src/sm2';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';

const CLI = resolve(__dirname, '../../dist/cli.js');
const PASSWORD = 'bench smoke';
const keystore = new TempKeystore();
const privateKey = generatePrivateKey();
const folders: string[] = [];

beforeAll(() => keystore.import(2, PASSWORD, privateKey));
afterAll(() => {
  keystore.remove();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function node(security: string): string {
  const folder = writeNodeFolder({ security, privateKey });
  folders.push(folder.dir);
  return folder.configPath;
}

function bench(args: string[]) {
  const result = spawnSync(process.execPath, [CLI, 'bench', ...args], {
    encoding: 'utf8',
    env: { ...process.env, GMT0018_MOCK_KEYSTORE: keystore.dir },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const hsm = () =>
  node(`enable_hsm=true\nprivate_key_path=conf/node.pem\nhsm_lib_path=${MOCK_LIB}\nkey_index=2\npassword=${PASSWORD}`);

test('bench signs through the HSM pool and reports JSON, with progress on stderr', () => {
  const { status, stdout, stderr } = bench([
    '--config',
    hsm(),
    '--ops',
    '20',
    '--concurrency',
    '4',
    '--sessions',
    '2',
    '--warmup',
    '2',
    '--json',
  ]);
  expect(status).toBe(0);
  const report = JSON.parse(stdout);
  expect(report).toMatchObject({ backend: 'hsm', sessions: 2, ops: 20, concurrency: 4 });
  expect(report.opsPerSecond).toBeGreaterThan(0);
  expect(typeof report.loopDelayP99Ms).toBe('number'); // the loop turns while an HSM signs
  expect(report.loopDelayP99Ms).toBeLessThan(10_000);
  expect(stderr).toContain('bench: 20/20 signs');
  expect(stderr).not.toContain(PASSWORD);
});

test('bench runs on a software key and with device-side hashing', () => {
  const software = bench([
    '--config',
    node('enable_hsm=false\nprivate_key_path=conf/node.pem'),
    '--ops',
    '5',
    '--json',
  ]);
  expect(software.status).toBe(0);
  expect(JSON.parse(software.stdout)).toMatchObject({ backend: 'software', ops: 5 });
  const device = bench(['--config', hsm(), '--ops', '5', '--sessions', '1', '--digest-on', 'device']);
  expect(device.status).toBe(0);
  expect(device.stdout).toMatch(/hsm \(1 sessions\)[\s\S]*throughput:\s+[\d.]+ signs\/s/);
});

test('bench reports the event loop as delayed while software signing blocks it, not 0', () => {
  // Software signs run on the main thread: the loop does not turn until the last one is done.
  const { status, stdout } = bench([
    '--config',
    node('enable_hsm=false\nprivate_key_path=conf/node.pem'),
    '--ops',
    '50',
    '--warmup',
    '1',
    '--json',
  ]);
  expect(status).toBe(0);
  const report = JSON.parse(stdout);
  expect(report.loopDelayP99Ms).toBeGreaterThan(0);
  expect(report.loopDelayMaxMs).toBeGreaterThanOrEqual(report.loopDelayP99Ms);
});

test('bad bench options are usage errors', () => {
  expect(bench(['--config', hsm(), '--ops', '0']).status).toBe(2);
  expect(bench(['--config', hsm(), '--digest-on', 'gpu']).stderr).toContain('--digest-on must be host or device');
  expect(bench(['--ops', '5']).stderr).toContain('--config is required');
});
