// Pure-JS SM2 sign and verify: gmt0018 against sm-crypto and sm-crypto-v2, one key, one message.
import { createRequire } from 'node:module';
import { gm } from './setup.mjs';
import { alternate, opensslSpeed, timed } from './measure.mjs';

const require = createRequire(import.meta.url);
const smCrypto = require('sm-crypto').sm2;
const smCryptoV2 = require('sm-crypto-v2').sm2;

const TEXT = 'a FISCO BCOS block header, about one hundred and twenty-eight bytes long, signed by its sealer....';

/**
 * ops/s for sign and verify (repeated key) of each implementation and of `openssl speed sm2`,
 * measured in turns so that load from other processes falls on all of them alike.
 */
export async function measureSoftware({ rounds = 3, ms = 700 } = {}) {
  const message = new TextEncoder().encode(TEXT);
  const privateKey = gm.generatePrivateKey();
  const publicKey = gm.publicKeyFromPrivateKey(privateKey);
  const signature = gm.sm2Sign(privateKey, message, { publicKey });
  const hex = (bytes) => Buffer.from(bytes).toString('hex');
  const jsPub = `04${hex(publicKey)}`;
  const jsPriv = hex(privateKey);
  const opts = { hash: true, publicKey: jsPub };
  const jsSig = smCryptoV2.doSignature(TEXT, jsPriv, opts);
  const check = (ok, what) => {
    if (!ok) throw new Error(`${what} did not verify: the benchmark would measure a failure path`);
  };
  check(gm.sm2Verify(publicKey, message, signature), 'gmt0018 signature');
  check(smCrypto.doVerifySignature(TEXT, jsSig, jsPub, { hash: true }), 'sm-crypto signature');
  check(smCryptoV2.doVerifySignature(TEXT, jsSig, jsPub, { hash: true }), 'sm-crypto-v2 signature');
  // sm-crypto is ~50/s: a short warm-up keeps the run short without changing its rate.
  const slow = { ms, warmup: 2 };
  let openssl = null;
  const opensslTurn = (which) => () => {
    if (which === 'sign') openssl = opensslSpeed(); // one run gives both figures, 2 s each
    return { ops: openssl[which] * 2, seconds: 2 };
  };
  const r = await alternate(rounds, [
    () => timed(() => gm.sm2Sign(privateKey, message, { publicKey }), { ms }),
    () => timed(() => gm.sm2Verify(publicKey, message, signature), { ms }),
    opensslTurn('sign'),
    opensslTurn('verify'),
    () => timed(() => smCrypto.doSignature(TEXT, jsPriv, opts), slow),
    () => timed(() => smCrypto.doVerifySignature(TEXT, jsSig, jsPub, { hash: true }), slow),
    () => timed(() => smCryptoV2.doSignature(TEXT, jsPriv, opts), { ms }),
    () => timed(() => smCryptoV2.doVerifySignature(TEXT, jsSig, jsPub, { hash: true }), { ms }),
  ]);
  const pair = (i) => ({ sign: r[i], verify: r[i + 1] });
  return { gmt0018: pair(0), openssl: pair(2), smCrypto: pair(4), smCryptoV2: pair(6) };
}
