/** The mock PKCS#11 module's token folder and test hooks (native-bindings/mock-pkcs11). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import koffi from 'koffi';
import { generatePrivateKey } from '../../src/sm2';

export const MOCK_PKCS11 = resolve(__dirname, '../../native-bindings/mock-pkcs11/build/libmockp11.so');

let hooks: ReturnType<typeof loadHooks> | undefined;

function loadHooks() {
  // The same path dlopen()s to the same library the binding loads, so the hooks act on it.
  const lib = koffi.load(MOCK_PKCS11);
  return {
    setDir: lib.func('unsigned long MOCKP11_SetDir(const char *dir)'),
    setFault: lib.func(
      'unsigned long MOCKP11_SetFault(const char *fn, unsigned long rv, unsigned long after, long count)',
    ),
    setStall: lib.func(
      'unsigned long MOCKP11_SetStall(const char *fn, unsigned int ms, unsigned long after, long count)',
    ),
    proxyRestart: lib.func('unsigned long MOCKP11_ProxyRestart(void)'),
    listPerCall: lib.func('unsigned long MOCKP11_SetListPerCall(int on)'),
    signaturePadding: lib.func('unsigned long MOCKP11_SetSignaturePadding(unsigned long bytes)'),
    getCounters: lib.func('unsigned long MOCKP11_GetCounters(void *out)'),
    getCallCount: lib.func('unsigned long MOCKP11_GetCallCount(const char *fn, _Out_ unsigned long long *out)'),
    reset: lib.func('unsigned long MOCKP11_Reset(void)'),
  };
}

export function mockPkcs11() {
  hooks ??= loadHooks();
  const api = hooks;
  /** MOCKP11_Counters: 12 unsigned long longs, in the order of mockp11.h. */
  const counter = (index: number): number => {
    const counters = Buffer.alloc(12 * 8);
    api.getCounters(counters);
    return Number(counters.readBigUInt64LE(index * 8));
  };
  return {
    setFault: (fn: string | null, rv: number, after = 0, count = -1) => api.setFault(fn, rv, after, count),
    /** `count` calls of `fn`, after `after` others, sleep `ms` inside the module first. */
    setStall: (fn: string, ms: number, after = 0, count = -1) => api.setStall(fn, ms, after, count),
    /** Live session handles in the module. */
    openSessions: () => counter(3),
    /** C_Login calls that met a wrong PIN since load or reset. */
    failedLogins: () => counter(7),
    /** As p11-kit's client after its server restarted: CKR_DEVICE_ERROR until C_Finalize + C_Initialize. */
    proxyRestart: () => api.proxyRestart(),
    /** As p11-kit's client: each C_GetFunctionList after the first hands out an instance nobody initialised. */
    listPerCall: (on: boolean) => api.listPerCall(on ? 1 : 0),
    /** C_Sign appends this many zero bytes to every signature, as a module returning too much would. */
    signaturePadding: (bytes: number) => api.signaturePadding(bytes),
    callCount(fn: string): number {
      const out = [0];
      api.getCallCount(fn, out);
      return Number(out[0]);
    },
    reset: () => api.reset(),
    useDir: (dir: string) => api.setDir(dir),
  };
}

/** A token folder for the mock module: `token.conf` written from sections of name=value lines. */
export class MockToken {
  readonly dir = mkdtempSync(join(tmpdir(), 'gmt0018-mockp11-'));

  constructor(text: string) {
    writeFileSync(join(this.dir, 'token.conf'), text);
    mockPkcs11().useDir(this.dir);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A mock token `label` holding one P-256 key labelled `k` under the standard profile, made before
 * the file's tests and removed after them; the mock's hooks are reset after each test.
 */
export function useP256Token(label: string, pin: string, maxSessions?: number): { readonly dir: string } {
  let token: MockToken | undefined;
  const limit = maxSessions === undefined ? '' : `max_sessions=${maxSessions}\n`;
  const key = Buffer.from(generatePrivateKey()).toString('hex');
  beforeAll(() => {
    token = new MockToken(
      `[token]\nlabel=${label}\npin=${pin}\nprofile=standard\n${limit}\n[key]\nlabel=k\ntype=p256\nprivate=${key}\n`,
    );
  });
  afterAll(() => token?.remove());
  afterEach(() => mockPkcs11().reset());
  return {
    get dir() {
      return (token as MockToken).dir;
    },
  };
}
