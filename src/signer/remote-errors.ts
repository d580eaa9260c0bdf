import { ANSWER_TIMEOUT } from './http-exchange';

/**
 * A request to the signing service that failed: `status` is the HTTP status (0 when no answer
 * came back: connection refused or reset, timeout, TLS failure) and `code` the service's error
 * code (`UNAUTHORIZED`, `SDR_HARDFAIL`, …), `CONNECTION_FAILED`, or one of the client's own
 * verdicts on a 200 answer: `BAD_RESPONSE` (malformed), `KEY_MISMATCH` (another key), or
 * `BAD_SIGNATURE` (a signature that does not verify against the signer's public key).
 */
export class RemoteSignerError extends Error {
  override readonly name = 'RemoteSignerError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Codes of a 200 answer the client refused: the instance misbehaves, another may not. */
const REFUSED_ANSWERS: ReadonlySet<string> = new Set(['BAD_RESPONSE', 'KEY_MISMATCH', 'BAD_SIGNATURE']);

/** Failures where no answer came back: safe to try again, maybe on another instance. */
const CONNECTION_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  ANSWER_TIMEOUT,
]);
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** Worth another try (on the next instance): no answer, a busy or failing card, a refused answer. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof RemoteSignerError)) return false;
  if (error.status === 0) return error.code === 'CONNECTION_FAILED';
  return RETRY_STATUSES.has(error.status) || REFUSED_ANSWERS.has(error.code);
}

/**
 * Says the instance itself is unwell, so it is skipped for a while: no (complete) answer, a 5xx,
 * or an answer the client refused. A 4xx (bad token, busy, bad request) says nothing of that kind.
 */
export function isEndpointFailure(error: unknown): boolean {
  if (!(error instanceof RemoteSignerError)) return false;
  return error.status === 0 || error.status >= 500 || REFUSED_ANSWERS.has(error.code);
}

/** An error of the exchange (undici's, or the deadline's) as a RemoteSignerError with status 0. */
export function noAnswerError(url: string, error: unknown): RemoteSignerError {
  const code = (error as { code?: unknown } | null)?.code;
  const name = typeof code === 'string' ? code : 'unknown';
  return new RemoteSignerError(
    0,
    CONNECTION_ERRORS.has(name) ? 'CONNECTION_FAILED' : 'REQUEST_FAILED',
    `${url}: no answer (${name}${error instanceof Error ? `: ${error.message}` : ''})`,
    { cause: error },
  );
}

/** The JSON of a 200 answer; any other answer as a RemoteSignerError with the service's code. */
export function answerJson(url: string, answer: { status: number; text: string }): unknown {
  const json = parseJson(answer.text);
  if (answer.status === 200 && json !== undefined) return json;
  if (answer.status === 200) throw badResponse(url, 'an answer that is not JSON');
  const detail = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof detail?.code === 'string' ? detail.code : `HTTP_${answer.status}`;
  const message = typeof detail?.message === 'string' ? detail.message : 'unexpected answer';
  throw new RemoteSignerError(answer.status, code, `${url}: ${answer.status} ${code}: ${message}`);
}

/** A 200 answer that is not what the API promises. */
export function badResponse(url: string, what: string): RemoteSignerError {
  return new RemoteSignerError(200, 'BAD_RESPONSE', `${url}: the signing service sent ${what}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
