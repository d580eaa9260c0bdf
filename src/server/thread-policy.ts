import { readdirSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { isMainThread } from 'node:worker_threads';
import { loadProcessSymbols } from '../native/load';

/** SCHED_BATCH from Linux's <sched.h>. */
const SCHED_BATCH = 3;

export type HelperThreadsOutcome = { marked: number; failed: number } | { skipped: string };

/**
 * Puts every thread of this process but the event loop under SCHED_BATCH.
 *
 * The service's requests all wait on the event loop, which shares the cores with the libuv
 * threads blocked in device calls and with V8's compiler and GC helpers. Under Linux's default
 * policy a thread that wakes up preempts the running one, so a burst of device calls returning
 * together stops the loop once per call, in the middle of other requests. A SCHED_BATCH thread
 * keeps its nice value and its share of CPU but never preempts on waking (sched(7)).
 *
 * Threads started later take the policy of the thread that starts them; libuv's pool is started
 * here first (it starts on first use) so that its threads are among those marked.
 */
export async function runHelperThreadsAsBatch(): Promise<HelperThreadsOutcome> {
  if (process.platform !== 'linux') return { skipped: `no SCHED_BATCH on ${process.platform}` };
  if (!isMainThread) return { skipped: 'not called on the main thread' };
  await access('/').catch(() => undefined);
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch (error) {
    return { skipped: `cannot list threads (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let setScheduler: (tid: number, policy: number, param: Int32Array) => number;
  try {
    setScheduler = loadProcessSymbols().func('int sched_setscheduler(int pid, int policy, const int *param)');
  } catch (error) {
    return { skipped: `sched_setscheduler not found (${(error as Error).message})` };
  }
  const priority = new Int32Array(1); // struct sched_param { int sched_priority; }, 0 for SCHED_BATCH
  let marked = 0;
  let failed = 0;
  for (const entry of threads) {
    const tid = Number(entry);
    // The main thread's id is the process id.
    if (tid === process.pid) continue;
    // A thread may end between the listing and the call (ESRCH): counted as failed, nothing else.
    if (setScheduler(tid, SCHED_BATCH, priority) === 0) marked++;
    else failed++;
  }
  return { marked, failed };
}
