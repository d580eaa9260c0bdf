// What the remote client's check of every signature costs (`verifySignatures`, on by default).
// `node bench/remote/verify-cost.mjs` (after `npm run build:mock && npm run build`) prints:
// - one verification of the signer's key (its table cached, as in the client) against one
//   software signature, in turns on this thread;
// - the client's own CPU per signature through `gmt0018 serve` (software backend, 32 clients),
//   verification on and off in turns. The service runs in a child process; on a machine with few
//   cores it competes with the client, so the rates here are the client's cost, not a ceiling.
import { pathToFileURL } from 'node:url';
import { alternate, timed } from '../measure.mjs';
import { gm } from '../setup.mjs';
import { CLIENTS, driveClients, MESSAGE, softwareNode, startServe, TOKEN } from './remote.mjs';

/** µs per call of sign and of verify (the key's table built first, as a client has it). */
export async function verifyVsSign({ rounds = 5, ms = 400 } = {}) {
  const privateKey = gm.generatePrivateKey();
  const publicKey = gm.publicKeyFromPrivateKey(privateKey);
  const digest = gm.sm2Digest(publicKey, MESSAGE);
  const signature = gm.sm2SignDigest(privateKey, digest);
  for (let i = 0; i < 3; i++) if (!gm.sm2VerifyDigest(publicKey, digest, signature)) throw new Error('no verify');
  const [sign, verify] = await alternate(rounds, [
    () => timed(() => gm.sm2SignDigest(privateKey, digest), { ms, warmup: 50 }),
    () => timed(() => gm.sm2VerifyDigest(publicKey, digest, signature), { ms, warmup: 50 }),
  ]);
  return { signUs: 1e6 / sign, verifyUs: 1e6 / verify };
}

/** The client's CPU per signature and its rate through `gmt0018 serve`, verification on and off. */
export async function clientCost({ rounds = 3, ms = 1500 } = {}) {
  const node = softwareNode();
  const server = await startServe(node.configPath);
  const signers = await Promise.all(
    [true, false].map((verifySignatures) =>
      gm.createRemoteSigner({ url: server.url, token: TOKEN, connections: CLIENTS, verifySignatures }),
    ),
  );
  try {
    const totals = signers.map(() => ({ ops: 0, seconds: 0, cpuUs: 0 }));
    for (const signer of signers) await drive(signer, 1000);
    for (let r = 0; r < rounds; r++) {
      for (const [i, signer] of signers.entries()) {
        const cpu = process.cpuUsage();
        const run = await drive(signer, ms);
        const used = process.cpuUsage(cpu);
        totals[i].ops += run.ops;
        totals[i].seconds += run.seconds;
        totals[i].cpuUs += used.user + used.system;
      }
    }
    return totals.map(({ ops, seconds, cpuUs }) => ({ opsPerSecond: ops / seconds, cpuUsPerSignature: cpuUs / ops }));
  } finally {
    await Promise.all(signers.map((signer) => signer.close()));
    await server.stop();
    node.remove();
  }
}

function drive(signer, ms) {
  return driveClients(
    Array.from({ length: CLIENTS }, () => () => signer.sign(MESSAGE)),
    { ms, warmupMs: 0 },
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { Table } = await import('../table.mjs');
  const table = new Table();
  process.stderr.write('bench: sign and verify on this thread, in turns\n');
  const { signUs, verifyUs } = await verifyVsSign();
  table.info('sm2SignDigest (software), one call', signUs, 'µs');
  table.info("sm2VerifyDigest, the key's table cached, one call", verifyUs, 'µs');
  process.stderr.write(
    `bench: remote client through gmt0018 serve, ${CLIENTS} clients, verification on and off in turns\n`,
  );
  const [on, off] = await clientCost();
  table.info('remote client CPU per signature, verified', on.cpuUsPerSignature, 'µs');
  table.info('remote client CPU per signature, not verified', off.cpuUsPerSignature, 'µs');
  table.info('  difference: the cost of verification', on.cpuUsPerSignature - off.cpuUsPerSignature, 'µs');
  table.info('  rate, verified', on.opsPerSecond);
  table.info('  rate, not verified', off.opsPerSecond);
  process.stdout.write(`${table.toMarkdown()}\n`);
}
