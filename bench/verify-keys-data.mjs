// Many distinct SM2 keys with a valid signature each, made quickly enough for a benchmark: keys
// d0 + c·C + j, their points P_c + j·G by affine additions with batched inversions (the multiples
// j·G once, on noble's generic curve), and signatures that all share one nonce k, solved for
// with batched inversions too. That is fine for measuring
// verification, whose work does not depend on how the keys or the nonces were chosen, and must
// never be done for real keys. A sample is checked with gmt0018 before use.
import { createRequire } from 'node:module';
import { Field } from '@noble/curves/abstract/modular';
import { weierstrassN } from '@noble/curves/abstract/weierstrass';
import { normalizeZ } from '@noble/curves/abstract/curve';
import { gm } from './setup.mjs';

const require = createRequire(import.meta.url);
const { randomBytes } = require('node:crypto');

// sm2p256v1 (GB/T 32918.5-2017).
const p = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const n = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const Point = weierstrassN(
  {
    p,
    n,
    h: 1n,
    a: p - 3n,
    b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
    Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
    Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
  },
  { Fp: Field(p), Fn: Field(n) },
);

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const toBigInt = (bytes) => BigInt(`0x${hex(bytes)}`);
const to32 = (x) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));
const mod = (x, m) => ((x % m) + m) % m;

function inverse(a, m) {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** values[i]⁻¹ mod m for every i, with one inversion (Montgomery's trick). */
function inverses(values, m) {
  const prefix = [];
  let acc = 1n;
  for (const v of values) {
    prefix.push(acc);
    acc = (acc * v) % m;
  }
  let inv = inverse(acc, m);
  const out = new Array(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = (inv * prefix[i]) % m;
    inv = (inv * values[i]) % m;
  }
  return out;
}

/** base + each of `points` (affine, none equal to ±base), with one inversion. */
function addAll(base, points) {
  const lambdaDen = inverses(
    points.map((q) => mod(q.x - base.x, p)),
    p,
  );
  return points.map((q, i) => {
    const lambda = (mod(q.y - base.y, p) * lambdaDen[i]) % p;
    const x = mod(lambda * lambda - base.x - q.x, p);
    return { x, y: mod(lambda * (base.x - x) - base.y, p) };
  });
}

/**
 * `count` items { publicKey (64 bytes), message, signature (64 bytes r||s) }, each with its own
 * key and message, every signature valid under the default user ID.
 */
export function signedKeys(count) {
  const d0 = toBigInt(randomBytes(32)) % (n - BigInt(count) - 2n);
  const k = (toBigInt(randomBytes(32)) % (n - 1n)) + 1n;
  const x1 = toBigInt(gm.publicKeyFromPrivateKey(to32(k)).subarray(0, 32));
  const items = [];
  const CHUNK = 4096;
  // j·G for 1 <= j <= CHUNK, affine.
  const multiples = [];
  for (let q = Point.BASE, j = 0; j < CHUNK; j++, q = q.add(Point.BASE)) multiples.push(q);
  const steps = normalizeZ(Point, multiples).map((q) => q.toAffine());
  for (let start = 0; start < count; start += CHUNK) {
    const size = Math.min(CHUNK, count - start);
    const dBase = d0 + BigInt(start); // key d0 + start + 1 + i is base + (i + 1)·G
    const points = addAll(Point.BASE.multiply(dBase).toAffine(), steps.slice(0, size));
    const ds = points.map((_, i) => dBase + 1n + BigInt(i));
    const invs = inverses(
      ds.map((d) => d + 1n),
      n,
    );
    for (let i = 0; i < size; i++) {
      const publicKey = Uint8Array.of(...to32(points[i].x), ...to32(points[i].y));
      const message = new TextEncoder().encode(`transaction ${start + i} from account ${start + i}`);
      const e = toBigInt(gm.sm2Digest(publicKey, message));
      const r = mod(e + x1, n);
      const s = mod(invs[i] * (k - r * ds[i]), n);
      items.push({ publicKey, message, signature: Uint8Array.of(...to32(r), ...to32(s)) });
    }
  }
  const sample = [0, count >> 1, count - 1].map((i) => items[i]);
  if (!sample.every((it) => gm.sm2Verify(it.publicKey, it.message, it.signature))) {
    throw new Error('generated signatures do not verify: the benchmark would measure a failure path');
  }
  return items;
}
