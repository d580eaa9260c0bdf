// Two `gmt0018 serve` instances in front of the example card, and a client that uses both:
// round robin while both are up, failover when one stops.
//
//   npm run build:mock && npm run build && node examples/remote-signer/run.mjs
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSigner, sm2Verify } from 'gmt0018';
import { provisionExampleNodes } from '../lib/example-nodes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(dirname(createRequire(import.meta.url).resolve('gmt0018/package.json')), 'dist', 'cli.js');
const setup = JSON.parse(readFileSync(join(here, 'instances.json'), 'utf8'));

/** One random token, as the service's token file and as the client's (conf/ folders are git-ignored). */
function writeToken() {
  const token = randomBytes(24).toString('base64url');
  for (const file of [join(here, setup.tokenFile), join(here, 'client', 'conf', 'signer.token')]) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
  }
}

/** Starts one instance; resolves once it listens, with a stop() that sends SIGTERM. */
function startInstance({ name, listen, config }) {
  const args = [cli, 'serve', '--config', join(here, config), '--listen', listen];
  const child = spawn(process.execPath, [...args, '--token-file', join(here, setup.tokenFile), '--log-level', 'warn'], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    let up = false;
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (!up && stderr.includes('listening on')) {
        up = true;
        console.log(`${name} listening on ${listen}`);
        resolve({ name, stop: () => new Promise((done) => child.once('exit', done).kill('SIGTERM')) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${stderr.trim()}`)));
  });
}

provisionExampleNodes(); // the key in the mock card, as in the other examples
writeToken();
const instances = await Promise.all(setup.instances.map(startInstance));
const signer = await createSigner(join(here, 'client', 'config.ini'));
try {
  console.log(`client backend ${signer.backend}, node ${signer.nodeId.slice(0, 16)}…`);
  const signSome = async (label) => {
    for (let i = 0; i < 4; i++) {
      const message = new TextEncoder().encode(`${label} transaction ${i}`);
      const signature = await signer.sign(message);
      if (!sm2Verify(signer.publicKey, message, signature)) throw new Error('signature does not verify');
    }
    console.log(`${label}: 4 signatures, all verified`);
  };
  await signSome('both instances up (round robin)');
  await instances[0].stop();
  console.log(`${instances[0].name} stopped`);
  await signSome('one instance down (failover)');
} finally {
  await signer.close();
  await Promise.all(instances.slice(1).map((instance) => instance.stop()));
}
