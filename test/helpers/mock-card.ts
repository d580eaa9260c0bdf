import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import koffi from 'koffi';
import { importMockKey } from '../../src/mock/keystore';

export const MOCK_ROOT = resolve(__dirname, '../../native-bindings/mock-sdf/build');
export const MOCK_LIB = join(MOCK_ROOT, 'libgmt0018.so');

/** strict: as strict as the strictest real library (fixed 419-byte ECCCipher, one device, ...). */
export type MockVariant = 'standard' | 'bits256' | 'algid' | 'strict';

export function mockVariantLib(variant: MockVariant): string {
  return variant === 'standard' ? MOCK_LIB : join(MOCK_ROOT, variant, 'libgmt0018.so');
}

const VARIANTS: MockVariant[] = ['standard', 'bits256', 'algid', 'strict'];

export interface MockCounters {
  openDevices: number;
  openSessions: number;
  accessRights: number;
  totalCalls: bigint | number;
}

const controls = new Map<string, ReturnType<typeof loadControl>>();

function loadControl(path: string) {
  // The same path dlopen()s to the same library the binding uses, so the counters are shared.
  const lib = koffi.load(path);
  const counters = koffi.struct({
    openDevices: 'uint32_t',
    openSessions: 'uint32_t',
    accessRights: 'uint32_t',
    totalCalls: 'uint64_t',
  });
  return {
    getCounters: lib.func('MOCK_GetCounters', 'int', [koffi.out(koffi.pointer(counters))]),
    setFault: lib.func('MOCK_SetFault', 'int', ['str', 'int', 'uint32_t', 'int']),
    setStall: lib.func('MOCK_SetStall', 'int', ['str', 'uint32_t', 'uint32_t', 'int']),
    setSerialCheck: lib.func('MOCK_SetSerialCheck', 'int', ['int']),
    setWrongSignatures: lib.func('MOCK_SetWrongSignatures', 'int', ['int']),
    setLatencyUs: lib.func('MOCK_SetLatencyUs', 'int', ['uint32_t']),
    setKeystore: lib.func('MOCK_SetKeystore', 'int', ['str']),
    setOutage: lib.func('MOCK_SetOutage', 'int', ['uint32_t', 'int']),
    getCallCount: lib.func('MOCK_GetCallCount', 'int', ['str', koffi.out(koffi.pointer('uint64_t'))]),
    reset: lib.func('MOCK_Reset', 'int', []),
  };
}

/** Test hooks of one build of the mock card: counters, fault and latency injection. */
export function mockControl(path = MOCK_LIB) {
  const api = controls.get(path) ?? loadControl(path);
  controls.set(path, api);
  return {
    counters(): MockCounters {
      const out = {} as MockCounters;
      api.getCounters(out);
      return out;
    },
    setFault(fn: string | null, code: number, afterCalls = 0, count = -1): void {
      api.setFault(fn, code, afterCalls, count);
    },
    /** Of the calls to `fn` from now on, the first `afterCalls` run normally and the next `count`
     * (-1 = all) first sleep `ms` milliseconds, holding no lock. fn null clears all stalls. */
    setStall(fn: string | null, ms: number, afterCalls = 0, count = -1): void {
      api.setStall(fn, ms, afterCalls, count);
    },
    /** While on, two SDF calls overlapping in time abort the process (a binding that serialises every call). */
    setSerialCheck(on: boolean): void {
      api.setSerialCheck(on ? 1 : 0);
    },
    /** SDF_InternalSign_ECC returns well-formed signatures of another digest, as a faulty card. */
    setWrongSignatures(on: boolean): void {
      api.setWrongSignatures(on ? 1 : 0);
    },
    /** Every SDF call fails with `code` for the next `ms` milliseconds: a device outage. */
    setOutage(ms: number, code: number): void {
      api.setOutage(ms, code);
    },
    /** Calls of one SDF function since load or reset. */
    callCount(fn: string): number {
      const out = [0];
      api.getCallCount(fn, out);
      return Number(out[0]);
    },
    setLatencyUs(us: number): void {
      api.setLatencyUs(us);
    },
    /** Jest gives each test file its own copy of process.env, which C getenv() never sees. */
    setKeystore(dir: string | null): void {
      api.setKeystore(dir);
    },
    reset(): void {
      api.reset();
    },
  };
}

/** A fresh keystore folder, made the mock's keystore for this process. */
export class TempKeystore {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'gmt0018-keystore-'));
    this.activate();
  }

  /** Makes this folder the keystore the mock reads at its next SDF_OpenDevice. */
  activate(): void {
    process.env.GMT0018_MOCK_KEYSTORE = this.dir;
    for (const variant of VARIANTS) {
      const path = mockVariantLib(variant);
      if (existsSync(path)) mockControl(path).setKeystore(this.dir);
    }
  }

  import(index: number, password: string, privateKey: Uint8Array): Uint8Array {
    return importMockKey({ keystore: this.dir, index, password, privateKey, overwrite: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The two ways an HSM signer reaches its sessions, as options for a given number of sessions:
 * pooled on the libuv threads, or owned by signing threads (signThreads). Tests of what a signer
 * promises (recovery, deadlines, close) run through both.
 */
export const SIGNER_DISPATCHES: [string, (sessions: number) => { sessions?: number; signThreads?: number }][] = [
  ['pooled sessions', (sessions) => ({ sessions })],
  ['signing threads', (sessions) => ({ signThreads: sessions })],
];
