import { isMainThread } from 'node:worker_threads';
import koffi from 'koffi';
import { guardIntact, guardedBuffer } from '../native/guard-bytes';
import { DEFAULT_CALL_TIMEOUT_MS } from '../native/call-deadlines';
import { MAX_SESSIONS_LEFT_BEHIND, SessionCalls } from '../native/session-calls';
import { paddedText, readUlongArray, ulongArray } from './attributes';
import { CKF_OS_LOCKING_OK, CKF_SERIAL_SESSION, CKR } from './constants';
import { Pkcs11BindingError, Pkcs11Error } from './errors';
import { CK_INFO, CK_MECHANISM_INFO, CK_TOKEN_INFO, Pkcs11Functions, type Pkcs11FunctionName } from './functions';
import { Pkcs11Session, type Pkcs11SessionOwner } from './session';

export interface Pkcs11ModuleOptions {
  /** Milliseconds one call may take (default 10 000; 0: no deadline). */
  callTimeoutMs?: number;
}

export interface TokenInfo {
  slot: number;
  label: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  flags: number;
  /** Most read/write sessions the token allows; undefined when it sets no limit. */
  maxRwSessions: number | undefined;
}

export interface ModuleInfo {
  cryptokiVersion: string;
  manufacturer: string;
  description: string;
  /** The version CK_FUNCTION_LIST reports. */
  functionListVersion: string;
}

/** ulMaxRwSessionCount of a token that sets no limit (CK_EFFECTIVELY_INFINITE) or does not say. */
const NO_LIMIT = new Set([0, 0xffffffff]);

/**
 * The one initialised copy of a module file in this process, shared by every Pkcs11Module of it:
 * C_Initialize and C_Finalize act on the whole process, and PKCS#11 leaves C_Finalize undefined
 * while another call is inside the module, so it waits for every call to return.
 */
class SharedModule {
  refs = 0;
  initialized = false;
  /** Whether C_Finalize is ours to call (someone else in the process may have initialised it). */
  ownsInitialization = false;
  /** Bumped at every (re)initialisation. */
  generation = 0;
  /** Re-initialisations begun: a session opened by a call that began before one is not kept. */
  epoch = 0;
  readonly sessions = new Set<Pkcs11Session>();
  /** Sessions a re-initialisation ended whose calls have not all returned (one may be stuck). */
  private readonly draining = new Set<Pkcs11Session>();
  /** Calls on no session (slots, tokens, C_OpenSession) in flight. */
  private readonly calls = new SessionCalls();
  /** C_Initialize and C_Finalize in flight, those past their deadline too: neither starts beside the other. */
  private readonly lifecycle = new SessionCalls();
  private initializing: Promise<void> | null = null;
  private finalizing: Promise<void> | null = null;
  private reinitializing: Promise<void> | null = null;

  constructor(readonly functions: Pkcs11Functions) {}

  /** C_Initialize, once for every caller at a time, and never while C_Finalize runs. */
  initialize(): Promise<void> {
    if (this.initialized) return Promise.resolve();
    this.initializing ??= this.initializeNow().finally(() => (this.initializing = null));
    return this.initializing;
  }

  private async initializeNow(): Promise<void> {
    await this.finalizing?.catch(() => undefined);
    if (!(await settlesWithin(this.lifecycle.whenIdle(), this.functions.deadlines.timeoutMs))) {
      throw this.stuckError();
    }
    if (this.initialized) return;
    try {
      const args = [Pkcs11Functions.initializeArgs(CKF_OS_LOCKING_OK)];
      await this.functions.call('C_Initialize', args, this.lifecycle.begin());
      this.ownsInitialization = true;
    } catch (error) {
      if (!(error instanceof Pkcs11Error && error.code === CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw error;
      this.ownsInitialization = false;
    }
    this.initialized = true;
    this.generation++;
  }

  /**
   * C_Finalize and C_Initialize again, once for every caller that found the module of `generation`
   * broken (a proxy's client after its server restarted answers CKR_DEVICE_ERROR until then).
   * Every session of the old initialisation is gone with it: none takes a call from the start (a
   * signing thread's ring, or a busy pool, would otherwise never drain), and C_Finalize waits for
   * the calls in flight. One still inside `timeoutMs` (the caller's call deadline) later fails the
   * re-initialisation instead (PKCS11_CALL_TIMEOUT), and every one after it until that call returns.
   */
  reinitialize(generation: number, timeoutMs: number): Promise<void> {
    if (this.generation !== generation) return this.reinitializing ?? Promise.resolve();
    this.reinitializing ??= this.reinitializeNow(timeoutMs).finally(() => (this.reinitializing = null));
    return this.reinitializing;
  }

  private async reinitializeNow(timeoutMs: number): Promise<void> {
    if (this.draining.size > 0) throw this.stuckError();
    this.epoch++;
    const sessions = [...this.sessions];
    for (const session of sessions) {
      session.endWithModule();
      this.draining.add(session);
      void session.whenIdle().then(() => this.draining.delete(session));
    }
    const idle = Promise.all([...sessions.map((session) => session.whenIdle()), ...this.callsInside()]);
    if (!(await settlesWithin(idle, timeoutMs))) throw this.stuckError();
    await this.finalizeNow().catch(() => undefined);
    await this.initialize();
  }

  private stuckError(): Pkcs11BindingError {
    return new Pkcs11BindingError(
      'PKCS11_CALL_TIMEOUT',
      `${this.functions.path} cannot be initialised again while a call is inside it past its deadline; it is once the call returns`,
      { fn: 'C_Finalize', libPath: this.functions.path },
    );
  }

  /**
   * Makes a call on no session, once the module is initialised and no re-initialisation is under
   * way: the call is counted from the moment it is known none is, so C_Finalize waits for it.
   * Returns the epoch the call began in.
   */
  async call(functions: Pkcs11Functions, fn: Pkcs11FunctionName, args: unknown[]): Promise<number> {
    for (;;) {
      await this.reinitializing?.catch(() => undefined);
      await this.initialize();
      if (this.reinitializing !== null || !this.initialized) continue;
      const epoch = this.epoch;
      await functions.call(fn, args, this.calls.begin());
      return epoch;
    }
  }

  /** Sessions left behind by a call past its deadline, or ended by a re-initialisation with calls inside. */
  sessionsStuckInCalls(): number {
    let stuck = this.draining.size;
    for (const session of this.sessions) if (session.stuckInCall) stuck++;
    return stuck;
  }

  /**
   * C_Finalize once the last user is gone, if ours was the C_Initialize that succeeded; with a call
   * still inside the module, once it returns. Never from a worker thread: this bookkeeping is per
   * thread, the module's state is per process, and a signer of another thread could be using the
   * module (its signs then fail on SoftHSM: test/pkcs11/worker-threads.test.ts). The module then
   * stays initialised until the process ends; the next open shares it.
   */
  async finalize(): Promise<void> {
    if (this.refs > 0 || !this.initialized) return;
    const inside = this.callsInside();
    if (this.reinitializing) inside.push(this.reinitializing.catch(() => undefined));
    if (inside.length > 0) {
      // looked at again a turn later: a session woken by the same return may start its C_CloseSession first
      void Promise.all(inside)
        .then(() => new Promise((turn) => setImmediate(turn)))
        .then(() => this.finalize())
        .catch(() => undefined);
      return;
    }
    if (this.ownsInitialization && isMainThread) await this.finalizeNow();
    else this.initialized = false;
  }

  /** What C_Finalize must wait for: every call inside the module, on any session of any user, or on none. */
  private callsInside(): Promise<void>[] {
    const inside: Promise<void>[] = [];
    for (const session of [...this.sessions, ...this.draining]) {
      if (session.callsInFlight > 0) inside.push(session.whenIdle());
    }
    for (const calls of [this.calls, this.lifecycle]) if (calls.inFlight > 0) inside.push(calls.whenIdle());
    return inside;
  }

  private finalizeNow(): Promise<void> {
    this.initialized = false;
    this.finalizing = this.functions
      .call('C_Finalize', [null], this.lifecycle.begin())
      .finally(() => (this.finalizing = null));
    return this.finalizing;
  }
}

/**
 * Whether `settled` settles within `timeoutMs` (0: however long it takes), and a sweep of the
 * call deadlines after it.
 */
async function settlesWithin(settled: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  if (timeoutMs === 0) return settled.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs * 1.5)));
  try {
    return await Promise.race([settled.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const shared = new Map<object, SharedModule>();

/** A loaded and initialised PKCS#11 module. */
export class Pkcs11Module implements Pkcs11SessionOwner {
  private readonly sessions = new Set<Pkcs11Session>();
  /** C_OpenSession calls not yet done with (their sessions not yet handed out): close() waits for them. */
  private readonly opening = new SessionCalls();
  private closing: Promise<void> | null = null;
  private closed_ = false;

  private constructor(
    readonly functions: Pkcs11Functions,
    private readonly module: SharedModule,
  ) {}

  /** Loads the module (checked before dlopen) and initialises it, or shares it when this process has. */
  static async open(path: string, options: Pkcs11ModuleOptions = {}): Promise<Pkcs11Module> {
    const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const functions = new Pkcs11Functions(path, { callTimeoutMs });
    let module = shared.get(functions.fileIdentity);
    if (!module) shared.set(functions.fileIdentity, (module = new SharedModule(functions)));
    module.refs++;
    try {
      await module.initialize();
    } catch (error) {
      module.refs--;
      throw error;
    }
    return new Pkcs11Module(functions, module);
  }

  get path(): string {
    return this.functions.path;
  }

  /** Which initialisation of the module sessions are opened under now. */
  get generation(): number {
    return this.module.generation;
  }

  async info(): Promise<ModuleInfo> {
    const out = guardedBuffer(koffi.sizeof(CK_INFO));
    await this.call('C_GetInfo', [out]);
    const info = decodeStruct(out, CK_INFO, 'C_GetInfo');
    const version = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;
    return {
      cryptokiVersion: version(info.cryptokiVersion),
      manufacturer: paddedText(info.manufacturerID),
      description: paddedText(info.libraryDescription),
      functionListVersion: version(this.functions.version),
    };
  }

  /** Slots, with a token in them unless `all`. */
  async slots(all = false): Promise<number[]> {
    return this.listOf('C_GetSlotList', [all ? 0 : 1]);
  }

  async tokenInfo(slot: number): Promise<TokenInfo> {
    const out = guardedBuffer(koffi.sizeof(CK_TOKEN_INFO));
    await this.call('C_GetTokenInfo', [slot, out]);
    const info = decodeStruct(out, CK_TOKEN_INFO, 'C_GetTokenInfo');
    const maxRw = Number(info.ulMaxRwSessionCount);
    return {
      slot,
      label: paddedText(info.label),
      manufacturer: paddedText(info.manufacturerID),
      model: paddedText(info.model),
      serialNumber: paddedText(info.serialNumber),
      flags: Number(info.flags),
      maxRwSessions: NO_LIMIT.has(maxRw) || maxRw > 0xffffffff ? undefined : maxRw,
    };
  }

  async mechanisms(slot: number): Promise<{ type: number; minKeySize: number; maxKeySize: number; flags: number }[]> {
    const types = await this.listOf('C_GetMechanismList', [slot]);
    const out = [];
    for (const type of types) {
      const info = guardedBuffer(koffi.sizeof(CK_MECHANISM_INFO));
      await this.call('C_GetMechanismInfo', [slot, type, info]);
      const decoded = decodeStruct(info, CK_MECHANISM_INFO, 'C_GetMechanismInfo');
      out.push({
        type,
        minKeySize: Number(decoded.ulMinKeySize),
        maxKeySize: Number(decoded.ulMaxKeySize),
        flags: Number(decoded.flags),
      });
    }
    return out;
  }

  /**
   * The slot of the token labelled `tokenLabel`, or `slot` itself when given (it must hold a
   * token). Labels are looked up afresh: slot IDs may change when the module is reinitialised.
   */
  async findSlot(where: { tokenLabel?: string; slot?: number }): Promise<number> {
    const slots = await this.slots();
    if (where.slot !== undefined) {
      if (slots.includes(where.slot)) return where.slot;
      throw new Pkcs11BindingError('PKCS11_TOKEN_NOT_FOUND', `no token in slot ${where.slot} of ${this.path}`, {
        libPath: this.path,
      });
    }
    const labels: string[] = [];
    for (const slot of slots) {
      const { label } = await this.tokenInfo(slot);
      if (label === where.tokenLabel) return slot;
      labels.push(JSON.stringify(label));
    }
    throw new Pkcs11BindingError(
      'PKCS11_TOKEN_NOT_FOUND',
      `no token labelled ${JSON.stringify(where.tokenLabel)} in ${this.path} (tokens: ${labels.join(', ') || 'none'})`,
      { libPath: this.path },
    );
  }

  /** A read-only serial session (signing needs no more) on `slot`. */
  async openSession(slot: number): Promise<Pkcs11Session> {
    this.refuseIfClosed('C_OpenSession');
    const opening = this.opening.begin();
    try {
      return await this.openSessionNow(slot);
    } finally {
      opening.returned();
    }
  }

  private async openSessionNow(slot: number): Promise<Pkcs11Session> {
    const stuck = this.module.sessionsStuckInCalls();
    if (stuck >= MAX_SESSIONS_LEFT_BEHIND) {
      throw new Pkcs11BindingError(
        'PKCS11_SESSIONS_EXHAUSTED',
        `${stuck} sessions of ${this.path} are stuck in calls past their deadline; no more are opened until they return`,
        { fn: 'C_OpenSession', libPath: this.path },
      );
    }
    const handle = [0];
    const epoch = await this.call('C_OpenSession', [slot, CKF_SERIAL_SESSION, null, null, handle]);
    if (epoch !== this.module.epoch) {
      // C_Finalize, which waited for this call, closed the session with every other
      throw new Pkcs11BindingError(
        'PKCS11_HANDLE_CLOSED',
        `C_OpenSession of ${this.path} returned as the module was being initialised again`,
        { fn: 'C_OpenSession', libPath: this.path },
      );
    }
    const session = new Pkcs11Session(this.functions, Number(handle[0]), slot, this);
    this.sessions.add(session);
    this.module.sessions.add(session);
    if (this.closing) {
      // closed meanwhile: close() waited for this call, and closes the session with the others
      throw new Pkcs11BindingError('PKCS11_HANDLE_CLOSED', `C_OpenSession returned as ${this.path} was closing`, {
        fn: 'C_OpenSession',
        libPath: this.path,
      });
    }
    return session;
  }

  private refuseIfClosed(fn: Pkcs11FunctionName): void {
    if (this.closing || this.closed_) {
      throw new Pkcs11BindingError('PKCS11_HANDLE_CLOSED', `${fn} called on a closed module`, {
        fn,
        libPath: this.path,
      });
    }
  }

  /** A call on no session, refused once the module is closed (it would initialise the module again). */
  private call(fn: Pkcs11FunctionName, args: unknown[]): Promise<number> {
    this.refuseIfClosed(fn);
    return this.module.call(this.functions, fn, args);
  }

  /** Pkcs11SessionOwner */
  sessionEnded(session: Pkcs11Session): void {
    this.sessions.delete(session);
    this.module.sessions.delete(session);
  }

  /** See SharedModule.reinitialize. */
  reinitialize(generation: number): Promise<void> {
    try {
      this.refuseIfClosed('C_Finalize');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.module.reinitialize(generation, this.functions.deadlines.timeoutMs);
  }

  /** Closes this module's sessions (after their calls in flight), and finalises the module with the last one. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  /**
   * Sessions close once their calls return; one whose call is (or goes) past its deadline closes
   * when that call returns, without holding up close(). The module is finalised with the last
   * user, once no call is inside it.
   */
  private async closeOnce(): Promise<void> {
    await this.opening.whenIdle();
    await Promise.all([...this.sessions].map((s) => Promise.race([s.close().catch(() => undefined), s.whenStuck()])));
    this.closed_ = true;
    this.module.refs--;
    await this.module.finalize();
  }

  private async listOf(fn: Pkcs11FunctionName, leading: unknown[]): Promise<number[]> {
    // Ask for the count, then the list; a list that grew in between is asked for again.
    for (;;) {
      const count = [0];
      await this.call(fn, [...leading, null, count]);
      const list = ulongArray(count[0]);
      const room = count[0];
      try {
        await this.call(fn, [...leading, list, count]);
      } catch (error) {
        if (error instanceof Pkcs11Error && error.code === CKR.CKR_BUFFER_TOO_SMALL) continue;
        throw error;
      }
      if (count[0] > room) continue;
      return readUlongArray(list, count[0], fn);
    }
  }
}

function decodeStruct(buffer: Buffer, type: Parameters<typeof koffi.sizeof>[0], fn: string) {
  if (!guardIntact(buffer)) {
    throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', `${fn} wrote past the struct it was given`, { fn });
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return koffi.decode(buffer, type) as any;
}
