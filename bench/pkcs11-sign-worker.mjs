// One worker thread of bench/pkcs11.mjs's token ceiling: its own session on the token, signing
// on its own thread for `ms`, then it posts how many signatures it made.
import { parentPort, workerData } from 'node:worker_threads';
import { gm } from './setup.mjs';

const { module: path, tokenLabel, pin, keyLabel, ms } = workerData;
const module = await gm.Pkcs11Module.open(path);
try {
  const session = await module.openSession(await module.findSlot({ tokenLabel }));
  await session.login(pin);
  const key = await gm.findSigningKey(session, { label: keyLabel }, undefined);
  const digest = new Uint8Array(32).fill(9);
  for (let i = 0; i < 50; i++) session.signSync(gm.CKM_ECDSA, key.handle, digest);
  let ops = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    session.signSync(gm.CKM_ECDSA, key.handle, digest);
    ops++;
  }
  parentPort.postMessage({ ops, seconds: (performance.now() - started) / 1000 });
  await session.close();
} finally {
  await module.close();
}
