// A throw-away mock card and node config for the benchmark: nothing outside the repo is needed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
export const ROOT = resolve(import.meta.dirname, '..');
// The package's entries in one namespace: the root, gmt0018/sdf, gmt0018/pkcs11 and gmt0018/mock.
export const gm = Object.freeze(
  Object.assign({}, ...['index', 'sdf', 'pkcs11', 'mock'].map((entry) => require(join(ROOT, 'dist', `${entry}.js`)))),
);
export const koffi = require('koffi');
export const MOCK_LIB = join(ROOT, 'native-bindings', 'mock-sdf', 'build', 'libgmt0018.so');
export const SDF_LOOP = join(ROOT, 'native-bindings', 'mock-sdf', 'build', 'sdf-loop');
export const CLI = join(ROOT, 'dist', 'cli.js');

export const KEY_INDEX = 1;
// A benchmark-only key in a temp keystore; the password only guards that throw-away file.
export const PASSWORD = 'bench-only';

/** The emulated network HSM of the 5 ms rows: every mock call answers this long after it began. */
export const LATENCY_US = 5000;

/** Environment for `sessions` sessions on the 5 ms device: a libuv thread for each, and one spare. */
export function slowDeviceEnv(sessions) {
  return { UV_THREADPOOL_SIZE: String(sessions + 1), GMT0018_MOCK_LATENCY_US: String(LATENCY_US) };
}

/** Signatures per second `sessions` sessions reach on the 5 ms device with no overhead at all. */
export function slowDeviceCeiling(sessions) {
  return sessions / (LATENCY_US / 1e6);
}

/** Temp keystore with one key, a config.ini pointing at the mock, and the mock's test hooks. */
export function createBenchCard() {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-bench-'));
  const keystore = join(dir, 'keystore');
  const privateKey = gm.generatePrivateKey();
  const publicKey = gm.importMockKey({ keystore, index: KEY_INDEX, password: PASSWORD, privateKey });
  mkdirSync(join(dir, 'conf'));
  const configPath = join(dir, 'config.ini');
  writeFileSync(
    configPath,
    [
      '[security]',
      'enable_hsm=true',
      'private_key_path=conf/node.pem',
      `hsm_lib_path=${MOCK_LIB}`,
      `key_index=${KEY_INDEX}`,
      `password=${PASSWORD}`,
      '',
    ].join('\n'),
  );
  // The same path dlopen()s to the same library the binding loads, so the hooks act on it.
  const lib = koffi.load(MOCK_LIB);
  const Counters = koffi.struct('BenchMockCounters', {
    openDevices: 'uint32_t',
    openSessions: 'uint32_t',
    accessRights: 'uint32_t',
    totalCalls: 'uint64_t',
  });
  const getCounters = lib.func('MOCK_GetCounters', 'int', [koffi.out(koffi.pointer(Counters))]);
  lib.func('MOCK_SetKeystore', 'int', ['str'])(keystore);
  return {
    dir,
    keystore,
    configPath,
    privateKey,
    publicKey,
    /** Environment for a child process using this card. */
    env: (extra = {}) => ({ ...process.env, GMT0018_MOCK_KEYSTORE: keystore, ...extra }),
    counters() {
      const out = {};
      getCounters(out);
      return out;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
