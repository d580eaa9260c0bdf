/**
 * C_Initialize and C_Finalize act on the whole process, but each worker thread has its own copy
 * of gmt0018's bookkeeping. A worker thread that initialised the module first and then closed
 * its signer finalised the module under a signer of another thread: SoftHSM then crashed the
 * process. A worker thread leaves the module initialised instead.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SOFTHSM_MODULE, SoftHsmToken } from '../helpers/softhsm';

const token = new SoftHsmToken('threads', '4321');
beforeAll(() => token.generate('EC:prime256v1', 'shared-key', '07'));
afterAll(() => token.remove());

const ROOT_ENTRY = join(__dirname, '..', '..', 'dist', 'index.js');

// Thread A opens its signer first (its C_Initialize is the one that succeeds), then thread B;
// A closes while B signs; B must sign on, unharmed.
const SCRIPT = `
const { Worker } = require('node:worker_threads');
const settings = ${JSON.stringify({ library: SOFTHSM_MODULE, tokenLabel: 'threads', pin: '4321', keyLabel: 'shared-key' })};
const thread = (role) => new Worker(\`
  const { parentPort } = require('node:worker_threads');
  const { Pkcs11Signer } = require(${JSON.stringify(ROOT_ENTRY)});
  (async () => {
    const signer = await Pkcs11Signer.open(\${JSON.stringify(settings)});
    parentPort.postMessage('open');
    if ('\${role}' === 'first') {
      await new Promise((resolve) => parentPort.once('message', resolve));
      await signer.close();
      parentPort.postMessage({ closed: true });
      return;
    }
    let signed = 0;
    const failures = [];
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      try { await signer.sign(Buffer.from('m' + signed)); signed++; } catch (error) { failures.push(error.code ?? String(error)); }
    }
    await signer.close();
    parentPort.postMessage({ signed, failures: failures.slice(0, 3) });
  })();
\`, { eval: true });
const next = (worker) => new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
(async () => {
  const first = thread('first');
  await next(first);
  const second = thread('second');
  await next(second);
  const result = next(second);
  await new Promise((resolve) => setTimeout(resolve, 300));
  first.postMessage('close');
  await next(first);
  console.log(JSON.stringify(await result));
})();
`;

it("lets a worker thread close its signer while another thread's signer of the same module signs on", () => {
  token.activate();
  const child = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 30_000 });
  expect(child.signal).toBeNull();
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  const { signed, failures } = JSON.parse(child.stdout) as { signed: number; failures: string[] };
  expect(failures).toEqual([]);
  expect(signed).toBeGreaterThan(10);
});
