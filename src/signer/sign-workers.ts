import { Worker } from 'node:worker_threads';
import { builtScript } from '../native/built-script';
import { SignerClosedError } from './errors';

export interface SignTask {
  id: number;
  digest: Uint8Array;
}

export type SignReply = { id: number; signature: Uint8Array } | { id: number; error: string };

/** Most signing threads one signer may start. */
export const MAX_SIGN_THREADS = 256;

interface Pending {
  resolve: (signature: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  online: boolean;
}

/**
 * Worker threads that sign digests with one software key, so that a busy process (the signing
 * service) keeps its event loop free and uses more than one core. Each task goes to the thread
 * with the fewest in flight; a thread that dies fails its own tasks and is replaced.
 */
export class SignWorkers {
  private readonly threads: Thread[];
  private nextId = 0;
  private closed = false;
  /** Set by close(): settles once the tasks in flight have and the threads are gone. */
  private closing: Promise<void> | undefined;
  /** Every task not yet settled, so that close() can wait for them. */
  private readonly inFlight = new Set<Promise<Uint8Array>>();
  /** Set when a thread died before it came up: respawning would only fail again. */
  private broken: Error | undefined;
  /**
   * The one copy of the key every thread reads. Shared memory: a key passed as plain workerData
   * would be copied into each thread, where nothing could zero it once the thread is gone.
   */
  private readonly sharedKey: Uint8Array;

  /**
   * The threads share one copy of `privateKey`, zeroed by close(); the caller keeps (and later
   * zeroes) its own. `file` is the worker script (tests point it elsewhere).
   */
  constructor(
    privateKey: Uint8Array,
    count: number,
    private readonly file = builtScript(__dirname, 'sign-worker.js'),
  ) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_SIGN_THREADS) {
      throw new RangeError(`threads must be an integer from 1 to ${MAX_SIGN_THREADS}, got ${count}`);
    }
    this.sharedKey = new Uint8Array(new SharedArrayBuffer(privateKey.length));
    this.sharedKey.set(privateKey);
    this.threads = Array.from({ length: count }, () => this.spawn());
  }

  get size(): number {
    return this.threads.length;
  }

  signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new SignerClosedError('software'));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const thread = this.threads.reduce((best, t) => (t.pending.size < best.pending.size ? t : best));
    const id = this.nextId++;
    const task = new Promise<Uint8Array>((resolve, reject) => {
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, digest } satisfies SignTask);
    });
    this.inFlight.add(task);
    const forget = () => this.inFlight.delete(task);
    task.then(forget, forget);
    return task;
  }

  /**
   * Refuses new tasks at once, lets the tasks in flight finish (as the HSM signer does), then
   * zeroes the key the threads read and stops them.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.drainAndStop();
    return this.closing;
  }

  private async drainAndStop(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.sharedKey.fill(0);
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private spawn(): Thread {
    const worker = new Worker(this.file, { workerData: { privateKey: this.sharedKey } });
    const thread: Thread = { worker, pending: new Map(), online: false };
    worker.once('online', () => {
      thread.online = true;
    });
    worker.on('message', (reply: SignReply) => {
      const pending = thread.pending.get(reply.id);
      if (pending === undefined) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if ('signature' in reply) pending.resolve(reply.signature);
      else pending.reject(new Error(`software signing failed: ${reply.error}`));
    });
    worker.on('error', (error) => this.replace(thread, error));
    worker.on('exit', (code) => this.replace(thread, new Error(`a signing thread exited with code ${code}`)));
    // Idle threads do not keep the process alive; a thread with work in flight does. (After the
    // listeners: adding one refs the thread's port again.)
    worker.unref();
    return thread;
  }

  private replace(thread: Thread, cause: Error): void {
    const at = this.threads.indexOf(thread);
    if (at < 0) return; // closed, or already replaced
    const error = new Error(`software signing failed: ${cause.message}`, { cause });
    failAll(thread, error);
    void thread.worker.terminate();
    if (this.closed) this.threads.splice(at, 1);
    else if (thread.online) this.threads[at] = this.spawn();
    else this.broken = error;
  }
}

function failAll(thread: Thread, error: Error): void {
  for (const pending of thread.pending.values()) pending.reject(error);
  thread.pending.clear();
}
