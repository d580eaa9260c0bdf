// timeoutMs is a deadline for a whole try, and an instance that fails is skipped for a backoff
// period while the others answer, then probed again.
import type { ServerResponse } from 'node:http';
import { createRemoteSigner, RemoteSignerError } from '../../src';
import { EndpointRotation } from '../../src/signer/remote-endpoints';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Verify } from '../../src/sm2';
import { neverAnswers, signAnswer, signsWith, standInService, type StandIn } from '../helpers/stand-in-service';

const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const message = new TextEncoder().encode('deadlines and backoff');
const standIns: StandIn[] = [];

async function standIn(): Promise<StandIn> {
  const service = await standInService(privateKey);
  standIns.push(service);
  return service;
}

afterAll(() => Promise.all(standIns.map((service) => service.close())));

describe('EndpointRotation', () => {
  /** A rotation over `count` instances on a clock the test moves, without jitter. */
  function rotation(count: number) {
    const clock = { t: 0 };
    const rotating = new EndpointRotation(
      count,
      { baseDelayMs: 100, maxDelayMs: 400 },
      {
        now: () => clock.t,
        random: () => 0.5,
      },
    );
    return { rotating, clock, picks: (n: number) => Array.from({ length: n }, () => rotating.pick()) };
  }

  test('round robin while every instance answers', () => {
    expect(rotation(3).picks(7)).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  test('an instance that failed is skipped for its backoff, then one request probes it', () => {
    const { rotating, clock, picks } = rotation(3);
    rotating.failed(1);
    expect(picks(4)).toEqual([0, 2, 0, 2]);
    clock.t = 99;
    expect(picks(2)).toEqual([0, 2]);
    clock.t = 100;
    expect(picks(4)).toEqual([0, 1, 2, 0]); // the probe
    expect(picks(3)).toEqual([2, 0, 2]); // no second request while the probe is out
    rotating.succeeded(1);
    expect(picks(3)).toEqual([0, 1, 2]);
  });

  test('a failed probe skips the instance twice as long, up to the cap; an answer resets it', () => {
    const { rotating, clock, picks } = rotation(2);
    const skippedFor = (): number => {
      const from = clock.t;
      while (rotating.isSkipped(1)) clock.t += 1;
      return clock.t - from;
    };
    rotating.failed(1);
    expect(skippedFor()).toBe(100);
    for (const expected of [200, 400, 400]) {
      expect(picks(2)).toContain(1);
      rotating.failed(1);
      expect(skippedFor()).toBe(expected);
    }
    rotating.succeeded(1);
    rotating.failed(1);
    expect(skippedFor()).toBe(100);
  });

  test('when every instance is skipped, the one whose backoff ends first is tried anyway', () => {
    const { rotating, clock, picks } = rotation(3);
    rotating.failed(0);
    clock.t = 10;
    rotating.failed(1);
    clock.t = 20;
    rotating.failed(2);
    rotating.failed(2);
    expect(picks(2)).toEqual([0, 0]);
  });
});

describe('timeoutMs is a deadline for the whole try', () => {
  test('an answer dripped a byte at a time fails at the deadline, before the drip is over', async () => {
    const service = await standIn();
    let dripping: NodeJS.Timeout | undefined;
    let dripped = false;
    service.behaviour = (digest, response: ServerResponse) => {
      const text = JSON.stringify(signAnswer(privateKey, digest));
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      let sent = 0;
      // About 200 bytes, one every 25 ms: 5 s in all, each byte well inside the 500 ms deadline.
      dripping = setInterval(() => {
        if (response.destroyed) return clearInterval(dripping);
        response.write(text[sent++]);
        if (sent === text.length) {
          clearInterval(dripping);
          dripped = true;
          response.end();
        }
      }, 25);
    };
    const signer = await createRemoteSigner({ url: service.url, timeoutMs: 500, retry: { attempts: 1 } });
    try {
      const error = await signer.sign(message).catch((e: unknown) => e);
      expect(dripped).toBe(false);
      expect(error).toBeInstanceOf(RemoteSignerError);
      expect(error).toMatchObject({ status: 0, code: 'CONNECTION_FAILED' });
      expect((error as Error).message).toContain('ANSWER_TIMEOUT: no complete answer within 500 ms');
    } finally {
      clearInterval(dripping);
      await signer.close();
    }
  });

  test('a request queued behind busy connections counts its wait against the deadline too', async () => {
    const service = await standIn();
    service.behaviour = neverAnswers;
    const signer = await createRemoteSigner({
      url: service.url,
      timeoutMs: 300,
      connections: 1,
      retry: { attempts: 1 },
    });
    try {
      const outcomes = await Promise.allSettled([signer.sign(message), signer.sign(message)]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({ status: 0, code: 'CONNECTION_FAILED' });
      }
      // The second never reached the service: it waited for the one connection and timed out there.
      expect(service.bodies).toHaveLength(1);
    } finally {
      await signer.close();
    }
  });
});

describe('an instance that stops answering', () => {
  test('is skipped while the other serves every request, and probed again after its backoff', async () => {
    const [a, b] = [await standIn(), await standIn()];
    const timeoutMs = 1000;
    // Jitter keeps the backoff within ±20 %: b is left alone for at least 2.4 s.
    const endpointBackoff = { baseDelayMs: 3000, maxDelayMs: 3000 };
    const signer = await createRemoteSigner({ urls: [a.url, b.url], timeoutMs, endpointBackoff });
    try {
      b.behaviour = neverAnswers; // frozen
      // Connect used a, so round robin sends this one to b: it waits out the deadline there and
      // is then signed by a.
      const start = performance.now();
      expect(sm2Verify(publicKey, message, await signer.sign(message))).toBe(true);
      expect([a.bodies.length, b.bodies.length]).toEqual([1, 1]);

      // Every request now goes straight to a: none waits for b's deadline.
      for (let i = 0; i < 10; i++) await signer.sign(message);
      expect([a.bodies.length, b.bodies.length]).toEqual([11, 1]);

      // b recovers; once its backoff is over, one request probes it, and it is back in the rotation.
      b.behaviour = signsWith(privateKey);
      while (b.bodies.length < 2) {
        await signer.sign(message);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Not before the deadline of the first request plus the shortest backoff (timers never fire early).
      expect((b.arrivals[1] as number) - start).toBeGreaterThanOrEqual(timeoutMs + 0.8 * 3000 - 5);
      const before = [a.bodies.length, b.bodies.length];
      for (let i = 0; i < 4; i++) await signer.sign(message);
      expect([a.bodies.length - before[0]!, b.bodies.length - before[1]!]).toEqual([2, 2]);
    } finally {
      await signer.close();
    }
  });
});
