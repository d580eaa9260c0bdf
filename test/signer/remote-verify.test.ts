// The remote client takes no 200 answer on trust: every signature is verified against the key
// learnt at connect (or pinned), and a service that answers wrongly is refused and skipped.
import { createRemoteSigner, RemoteSignerError } from '../../src';
import {
  bytesToHex,
  generatePrivateKey,
  publicKeyFromPrivateKey,
  publicKeyToPem,
  sm2Digest,
  sm2SignDigest,
  sm2Verify,
} from '../../src/sm2';
import { sendJson, signAnswer, standInService, type SignBehaviour, type StandIn } from '../helpers/stand-in-service';

const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const nodeId = bytesToHex(publicKey);
const otherKey = generatePrivateKey();
const message = new TextEncoder().encode('checked on arrival');
const standIns: StandIn[] = [];

async function standIn(behaviour?: SignBehaviour, keys?: unknown): Promise<StandIn> {
  const service = await standInService(privateKey, keys);
  if (behaviour !== undefined) service.behaviour = behaviour;
  standIns.push(service);
  return service;
}

afterAll(() => Promise.all(standIns.map((service) => service.close())));

/** A sign answer with the right public key field and `signature` in place of the real one. */
const answersWith =
  (signature: (digest: Uint8Array) => unknown): SignBehaviour =>
  (digest, response) =>
    sendJson(response, 200, { signature: signature(digest), publicKey: nodeId });

const wrongAnswers: [string, string, SignBehaviour][] = [
  [
    'a signature of another digest',
    'BAD_SIGNATURE',
    answersWith((d) =>
      bytesToHex(
        sm2SignDigest(
          privateKey,
          d.map((b) => b ^ 1),
        ),
      ),
    ),
  ],
  ['an all-zero signature', 'BAD_SIGNATURE', answersWith(() => '00'.repeat(64))],
  [
    'a signature by another key, with the right publicKey field',
    'BAD_SIGNATURE',
    answersWith((d) => bytesToHex(sm2SignDigest(otherKey, d))),
  ],
  [
    'r and s swapped',
    'BAD_SIGNATURE',
    answersWith((d) => {
      const s = bytesToHex(sm2SignDigest(privateKey, d));
      return s.slice(64) + s.slice(0, 64);
    }),
  ],
  ['a non-hex signature', 'BAD_RESPONSE', answersWith(() => 'zz'.repeat(64))],
  ['a short signature', 'BAD_RESPONSE', answersWith((d) => bytesToHex(sm2SignDigest(privateKey, d)).slice(2))],
  ['a signature that is a number', 'BAD_RESPONSE', answersWith(() => 12345)],
  ['no signature at all', 'BAD_RESPONSE', (_d, response) => sendJson(response, 200, { publicKey: nodeId })],
  ['JSON null', 'BAD_RESPONSE', (_d, response) => sendJson(response, 200, 'null')],
  ['text that is not JSON', 'BAD_RESPONSE', (_d, response) => sendJson(response, 200, '<html>ok</html>')],
  [
    'another key named in the answer',
    'KEY_MISMATCH',
    (d, response) => sendJson(response, 200, signAnswer(otherKey, d)),
  ],
];

describe('a wrong 200 answer is refused', () => {
  test.each(wrongAnswers)('%s: RemoteSignerError %s', async (_name, code, behaviour) => {
    const service = await standIn(behaviour);
    const signer = await createRemoteSigner({ url: service.url, retry: { attempts: 1 } });
    try {
      for (const sign of [() => signer.sign(message), () => signer.signDigest(sm2Digest(publicKey, message))]) {
        const error = await sign().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RemoteSignerError);
        expect(error).toMatchObject({ status: 200, code });
        expect((error as Error).message).toContain(service.url);
      }
    } finally {
      await signer.close();
    }
  });

  test('retried on the next instance, which signs; the wrong one is skipped from then on', async () => {
    const good = await standIn();
    const bad = await standIn(answersWith(() => '00'.repeat(64)));
    // A backoff far longer than the test: the bad instance is not probed again meanwhile.
    const endpointBackoff = { baseDelayMs: 60_000, maxDelayMs: 60_000 };
    const signer = await createRemoteSigner({ urls: [good.url, bad.url], endpointBackoff });
    try {
      for (let i = 0; i < 8; i++) {
        const signature = await signer.sign(message);
        expect(sm2Verify(publicKey, message, signature)).toBe(true);
      }
      expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
      // Round robin sent the first sign to the bad instance; after that it was skipped.
      expect(bad.bodies).toHaveLength(1);
      expect(good.bodies).toHaveLength(9);
    } finally {
      await signer.close();
    }
  });

  test('after every try, the last refusal is what the caller gets', async () => {
    const [a, b] = [
      await standIn(answersWith(() => '00'.repeat(64))),
      await standIn(answersWith(() => '11'.repeat(64))),
    ];
    const signer = await createRemoteSigner({
      urls: [a.url, b.url],
      retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 },
    });
    try {
      const error = await signer.sign(message).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 200, code: 'BAD_SIGNATURE' });
      expect(a.bodies.length + b.bodies.length).toBe(4);
    } finally {
      await signer.close();
    }
  });
});

describe('verifySignatures: false (an explicit opt-out)', () => {
  test('hands out what the service signed without checking it, but still refuses malformed answers and other keys', async () => {
    const zero = await standIn(answersWith(() => '00'.repeat(64)));
    const trusting = await createRemoteSigner({ url: zero.url, verifySignatures: false, retry: { attempts: 1 } });
    try {
      expect(await trusting.sign(message)).toEqual(new Uint8Array(64));
    } finally {
      await trusting.close();
    }
    for (const [behaviour, code] of [
      [answersWith(() => 'zz'.repeat(64)), 'BAD_RESPONSE'],
      [
        (d: Uint8Array, response: Parameters<SignBehaviour>[1]) => sendJson(response, 200, signAnswer(otherKey, d)),
        'KEY_MISMATCH',
      ],
    ] as [SignBehaviour, string][]) {
      const service = await standIn(behaviour);
      const signer = await createRemoteSigner({ url: service.url, verifySignatures: false, retry: { attempts: 1 } });
      try {
        await expect(signer.sign(message)).rejects.toMatchObject({ status: 200, code });
      } finally {
        await signer.close();
      }
    }
  });

  test('anything but a boolean is a TypeError', async () => {
    const service = await standIn();
    const opts = { url: service.url, verifySignatures: 'no' as unknown as boolean };
    await expect(createRemoteSigner(opts)).rejects.toThrow('verifySignatures must be a boolean');
  });
});

describe('a pinned public key', () => {
  test('in hex, PEM or bytes: the listed key must be it, and signatures verify against it', async () => {
    const service = await standIn();
    for (const pinned of [nodeId, `04${nodeId}`, publicKeyToPem(publicKey), publicKey]) {
      const signer = await createRemoteSigner({ url: service.url, publicKey: pinned });
      try {
        expect(signer.publicKey).toEqual(publicKey);
        expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
      } finally {
        await signer.close();
      }
    }
  });

  test('a service listing another key is refused at connect', async () => {
    const impostor = await standIn(undefined, [
      { keyIndex: null, publicKey: bytesToHex(publicKeyFromPrivateKey(otherKey)) },
    ]);
    const error = await createRemoteSigner({ url: impostor.url, publicKey, retry: { attempts: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteSignerError);
    expect(error).toMatchObject({ code: 'KEY_MISMATCH' });
    const byIndex = await createRemoteSigner({
      url: impostor.url,
      publicKey,
      keyIndex: 0,
      retry: { attempts: 1 },
    }).catch((e: unknown) => e);
    expect(byIndex).toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  test('among several listed keys, the pinned one is chosen', async () => {
    const keys = [
      { keyIndex: 1, publicKey: bytesToHex(publicKeyFromPrivateKey(otherKey)) },
      { keyIndex: 2, publicKey: nodeId },
    ];
    const service = await standIn(undefined, keys);
    const signer = await createRemoteSigner({ url: service.url, publicKey });
    try {
      expect(signer.keyIndex).toBe(2);
      await signer.sign(message);
      expect(JSON.parse(service.bodies.at(-1) as string)).toMatchObject({ keyIndex: 2 });
    } finally {
      await signer.close();
    }
  });

  test('a malformed pinned key is a TypeError before any request', async () => {
    const service = await standIn();
    await expect(createRemoteSigner({ url: service.url, publicKey: 'not a key' })).rejects.toThrow(TypeError);
    await expect(createRemoteSigner({ url: service.url, publicKey: new Uint8Array(64) })).rejects.toThrow(TypeError);
  });
});
