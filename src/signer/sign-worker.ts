// Runs inside a worker thread of SignWorkers: signs 32-byte digests with the key it was given
// (shared memory that SignWorkers zeroes on close; a sign still running then fails, unheard).
import { parentPort, workerData } from 'node:worker_threads';
import { sm2SignDigest } from '../sm2';
import type { SignReply, SignTask } from './sign-workers';

const privateKey = (workerData as { privateKey: Uint8Array }).privateKey;

parentPort?.on('message', (task: SignTask) => {
  let reply: SignReply;
  try {
    reply = { id: task.id, signature: sm2SignDigest(privateKey, task.digest) };
  } catch (error) {
    reply = { id: task.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
