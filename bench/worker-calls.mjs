// The ceiling of a worker-thread dispatch for a fast card (issue 20): sessions opened on the main
// thread, then one worker thread per session calling SDF_InternalSign_ECC synchronously on it in a
// loop, all side by side. Nothing in gmt0018 dispatches like this yet; this measures what it could
// reach, next to the C loop on every core and the async pool.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { KEY_INDEX, MOCK_LIB, PASSWORD } from './setup.mjs';

const SIGNATURE_ROOM = 256; // ECCSignature with 64-byte fields is 128 bytes

/** Signatures of `threads` worker threads, each on its own session of the mock card, for `ms`. */
export async function syncCallsOnWorkers(threads, ms = 600) {
  const lib = koffi.load(MOCK_LIB);
  const openDevice = lib.func('int SDF_OpenDevice(_Out_ void **device)');
  const closeDevice = lib.func('int SDF_CloseDevice(void *device)');
  const openSession = lib.func('int SDF_OpenSession(void *device, _Out_ void **session)');
  const closeSession = lib.func('int SDF_CloseSession(void *session)');
  const grant = lib.func(
    'int SDF_GetPrivateKeyAccessRight(void *session, unsigned int index, const char *pw, unsigned int n)',
  );
  const device = [null];
  if (openDevice(device) !== 0) throw new Error('SDF_OpenDevice failed');
  const sessions = [];
  try {
    for (let i = 0; i < threads; i++) {
      const session = [null];
      if (openSession(device[0], session) !== 0) throw new Error('SDF_OpenSession failed');
      sessions.push(session[0]);
      if (grant(session[0], KEY_INDEX, PASSWORD, PASSWORD.length) !== 0) throw new Error('access right refused');
    }
    const results = await Promise.all(
      sessions.map(
        (session) =>
          new Promise((resolve, reject) => {
            const worker = new Worker(new URL(import.meta.url), {
              workerData: { session: koffi.address(session), ms },
              execArgv: [],
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    return {
      ops: results.reduce((sum, { ops }) => sum + ops, 0),
      seconds: Math.max(...results.map(({ seconds }) => seconds)),
    };
  } finally {
    for (const session of sessions) closeSession(session);
    closeDevice(device[0]);
  }
}

if (!isMainThread) {
  const lib = koffi.load(MOCK_LIB);
  // The session handle crosses threads as its address.
  const sign = lib.func(
    'int SDF_InternalSign_ECC(uintptr_t session, unsigned int index, uint8_t *data, unsigned int n, uint8_t *signature)',
  );
  const digest = Buffer.alloc(32, 0xa5);
  const signature = Buffer.alloc(SIGNATURE_ROOM);
  const signOnce = () => {
    if (sign(workerData.session, KEY_INDEX, digest, digest.length, signature) !== 0) throw new Error('sign failed');
  };
  for (let i = 0; i < 200; i++) signOnce();
  let ops = 0;
  const started = performance.now();
  while (performance.now() - started < workerData.ms) {
    signOnce();
    ops++;
  }
  parentPort.postMessage({ ops, seconds: (performance.now() - started) / 1000 });
}
