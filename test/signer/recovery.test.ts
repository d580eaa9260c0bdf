import { SDR, SdfBindingError, SdfError } from '../../src/sdf';
import { backoffDelay, isSessionFailure, resolveRetryPolicy, withRetries } from '../../src/signer/recovery';

const fail = (code: number) => new SdfError('SDF_InternalSign_ECC', code);

describe('which failures replace the session and retry', () => {
  it.each(['SDR_COMMFAIL', 'SDR_HARDFAIL', 'SDR_OPENSESSION', 'SDR_OPENDEVICE', 'SDR_UNKNOWERR'] as const)(
    '%s is a session failure',
    (name) => expect(isSessionFailure(fail(SDR[name]))).toBe(true),
  );

  it.each(['SDR_PARDENY', 'SDR_KEYNOTEXIST', 'SDR_INARGERR', 'SDR_SIGNERR', 'SDR_VERIFYERR'] as const)(
    '%s is the request’s fault and is not retried',
    (name) => expect(isSessionFailure(fail(SDR[name]))).toBe(false),
  );

  it('a closed handle is a session failure; other errors are not', () => {
    expect(isSessionFailure(new SdfBindingError('SDF_HANDLE_CLOSED', 'closed'))).toBe(true);
    expect(isSessionFailure(new SdfBindingError('SDF_SYMBOL_MISSING', 'missing'))).toBe(false);
    expect(isSessionFailure(new RangeError('digest'))).toBe(false);
  });
});

describe('withRetries', () => {
  const policy = resolveRetryPolicy({ attempts: 4, baseDelayMs: 10, maxDelayMs: 25 });
  const slept: number[] = [];
  const sleep = async (ms: number) => void slept.push(ms);
  beforeEach(() => (slept.length = 0));

  it('retries session failures with growing, capped delays and returns the first success', async () => {
    const outcomes = [fail(SDR.SDR_COMMFAIL), fail(SDR.SDR_HARDFAIL), 'signed'];
    const tries: number[] = [];
    const result = await withRetries(
      async (attempt) => {
        tries.push(attempt);
        const outcome = outcomes[attempt - 1];
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
      policy,
      isSessionFailure,
      sleep,
    );
    expect(result).toBe('signed');
    expect(tries).toEqual([1, 2, 3]);
    expect(slept).toHaveLength(2);
    expect(slept[0]).toBeGreaterThanOrEqual(8);
    expect(slept[0]).toBeLessThanOrEqual(12);
    expect(slept[1]).toBeGreaterThanOrEqual(16);
    expect(slept[1]).toBeLessThanOrEqual(24);
  });

  it('gives up after the last try with the last error, untouched', async () => {
    const last = fail(SDR.SDR_COMMFAIL);
    let tries = 0;
    const error = await withRetries(
      async () => {
        tries++;
        throw tries === 4 ? last : fail(SDR.SDR_HARDFAIL);
      },
      policy,
      isSessionFailure,
      sleep,
    ).catch((e: unknown) => e);
    expect(tries).toBe(4);
    expect(error).toBe(last);
  });

  it('does not retry a request error', async () => {
    let tries = 0;
    await expect(
      withRetries(
        async () => {
          tries++;
          throw fail(SDR.SDR_PARDENY);
        },
        policy,
        isSessionFailure,
        sleep,
      ),
    ).rejects.toMatchObject({ codeName: 'SDR_PARDENY' });
    expect(tries).toBe(1);
    expect(slept).toEqual([]);
  });

  it('caps the delay and refuses nonsense policies', () => {
    expect(backoffDelay(10, policy, () => 1)).toBe(25);
    expect(backoffDelay(1, policy)).toBe(0);
    expect(() => resolveRetryPolicy({ attempts: 0 })).toThrow(RangeError);
    expect(() => resolveRetryPolicy({ baseDelayMs: 100, maxDelayMs: 10 })).toThrow(RangeError);
  });
});
