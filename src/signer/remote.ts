import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { ConfigError, ConfigErrorCodes, type SecurityConfig } from '../config';
import { bytesToHex, hexToBytes } from '../sm2';
import { SignerClosedError } from './errors';
import { PublicKeyHolder, requireDigest } from './key-material';
import { exchange } from './http-exchange';
import { backoffDelay, type RetryPolicy } from './recovery';
import type { SignOptions, Sm2Signer } from './types';

/**
 * A request to the signing service that failed: `status` is the HTTP status (0 when no answer
 * came back: connection refused or reset, timeout, TLS failure) and `code` the service's error
 * code (`UNAUTHORIZED`, `SDR_HARDFAIL`, …) or `CONNECTION_FAILED`.
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

export interface RemoteSignerOptions {
  /** Base URL of `gmt0018 serve`, e.g. https://signer:8443. */
  url?: string;
  /** Several instances: requests go round robin, and fail over on connection errors. */
  urls?: readonly string[];
  /** The service's bearer token. */
  token?: string;
  /** PEM CA to trust for https URLs (default: the system store). */
  ca?: string | Buffer;
  /** Client certificate and key for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Retries after the first try, on connection errors, 503 and 429. Default 4. */
  retries?: number;
  /** First backoff delay; doubled after each round over the URLs, at most 2 s. Default 50 ms. */
  retryDelayMs?: number;
  /** Key index to sign with; default the service's first listed key (its configured key_index). */
  keyIndex?: number;
  /** Keep-alive connections per URL. Default 32. */
  connections?: number;
  /** Time allowed for the answer to one try. Default 30 s. */
  timeoutMs?: number;
}

/** Failures where no answer came back: safe to try again, maybe on another instance. */
const CONNECTION_ERRORS = new Set([
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
]);
const RETRY_STATUSES = new Set([429, 503]);
const MAX_DELAY_MS = 2_000;

interface Endpoint {
  readonly url: string;
  readonly pool: Pool;
  readonly basePath: string;
}

interface KeyEntry {
  keyIndex: number | null;
  publicKey: string;
}

/** Round robin over the instances, with retries and failover; knows nothing of signatures. */
class Transport {
  private next = 0;
  private closed = false;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly headers: Readonly<Record<string, string>>,
    private readonly retries: number,
    retryDelayMs: number,
    private readonly timeoutMs: number,
  ) {
    this.backoff = { attempts: retries + 1, baseDelayMs: retryDelayMs, maxDelayMs: MAX_DELAY_MS };
    this.jsonHeaders = { ...headers, 'content-type': 'application/json' };
  }

  /** The headers of a request with a JSON body. */
  private readonly jsonHeaders: Readonly<Record<string, string>>;

  /** Delays between rounds over the instances: doubling from retryDelayMs, jittered, capped. */
  private readonly backoff: RetryPolicy;

  /**
   * One request, with retries and failover. `body` is JSON text, serialized once for every try.
   * The first try runs without async frames of its own: on the service's hot path each layer of
   * promises costs the event loop time every other request waits for.
   */
  call(method: 'GET' | 'POST', path: string, body: string | null = null): Promise<unknown> {
    if (this.closed) return Promise.reject(new SignerClosedError('remote'));
    const start = this.next;
    this.next = (this.next + 1) % this.endpoints.length;
    return this.once(this.endpointAt(start), method, path, body).catch((error: unknown) =>
      this.retry(error, start, method, path, body),
    );
  }

  private async retry(
    firstError: unknown,
    start: number,
    method: 'GET' | 'POST',
    path: string,
    body: string | null,
  ): Promise<unknown> {
    let lastError = firstError;
    for (let attempt = 1; attempt <= this.retries; attempt++) {
      if (!(lastError instanceof RemoteSignerError) || !isRetryable(lastError)) throw lastError;
      if (this.closed) throw new SignerClosedError('remote');
      // A fresh instance is tried at once; a backoff only once every instance has failed.
      if (attempt % this.endpoints.length === 0) {
        const round = attempt / this.endpoints.length;
        await sleep(backoffDelay(round + 1, this.backoff));
        if (this.closed) throw new SignerClosedError('remote');
      }
      try {
        return await this.once(this.endpointAt(start + attempt), method, path, body);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private endpointAt(i: number): Endpoint {
    return this.endpoints[i % this.endpoints.length] as Endpoint;
  }

  private once(endpoint: Endpoint, method: 'GET' | 'POST', path: string, body: string | null): Promise<unknown> {
    return exchange(endpoint.pool, {
      method,
      path: endpoint.basePath + path,
      headers: body === null ? this.headers : this.jsonHeaders,
      body,
      timeoutMs: this.timeoutMs,
    }).then(
      (answer) => answerOf(endpoint.url, answer),
      (error: unknown) => {
        throw connectionError(endpoint.url, error);
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.endpoints.map((endpoint) => endpoint.pool.close()));
  }
}

/** The JSON of a 200 answer; any other answer as a RemoteSignerError with the service's code. */
function answerOf(url: string, answer: { status: number; text: string }): unknown {
  const json = parseJson(answer.text);
  if (answer.status === 200 && json !== undefined) return json;
  const detail = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof detail?.code === 'string' ? detail.code : `HTTP_${answer.status}`;
  const message = typeof detail?.message === 'string' ? detail.message : 'unexpected answer';
  throw new RemoteSignerError(answer.status, code, `${url}: ${answer.status} ${code}: ${message}`);
}

function isRetryable(error: RemoteSignerError): boolean {
  return error.status === 0 ? error.code === 'CONNECTION_FAILED' : RETRY_STATUSES.has(error.status);
}

function connectionError(url: string, error: unknown): RemoteSignerError {
  const code = (error as { code?: unknown } | null)?.code;
  const name = typeof code === 'string' ? code : 'unknown';
  const retryable = CONNECTION_ERRORS.has(name);
  return new RemoteSignerError(
    0,
    retryable ? 'CONNECTION_FAILED' : 'REQUEST_FAILED',
    `${url}: no answer (${name}${error instanceof Error ? `: ${error.message}` : ''})`,
    { cause: error },
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function endpointsOf(opts: RemoteSignerOptions, PoolClass: typeof Pool): Endpoint[] {
  const urls = opts.urls ?? (opts.url === undefined ? [] : [opts.url]);
  if (urls.length === 0) throw new TypeError('createRemoteSigner: give url or urls');
  const connect: Record<string, string | Buffer> = {};
  if (opts.ca !== undefined) connect.ca = opts.ca;
  if (opts.cert !== undefined) connect.cert = opts.cert;
  if (opts.key !== undefined) connect.key = opts.key;
  return urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new TypeError(`createRemoteSigner: ${JSON.stringify(text)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`createRemoteSigner: ${url.origin} is not an http(s) URL`);
    }
    const pool = new PoolClass(url.origin, { connections: opts.connections ?? 32, connect });
    return { url: url.origin, pool, basePath: url.pathname.replace(/\/+$/, '') };
  });
}

/** An Sm2Signer whose key stays behind `gmt0018 serve`; verification runs locally. */
export class RemoteSigner extends PublicKeyHolder implements Sm2Signer {
  readonly backend = 'remote' as const;

  private constructor(
    private readonly transport: Transport,
    readonly keyIndex: number | null,
    publicKey: Uint8Array,
  ) {
    super(publicKey);
    this.keyIndexField = keyIndex === null ? '' : `,"keyIndex":${keyIndex}`;
  }

  /** `,"keyIndex":N` for the sign request body, or nothing when the service picks its key. */
  private readonly keyIndexField: string;

  /** @internal use createRemoteSigner */
  static async connect(opts: RemoteSignerOptions): Promise<RemoteSigner> {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined && opts.token !== '') headers.authorization = `Bearer ${opts.token}`;
    // Loaded on first use: undici costs ~90 ms of start-up that local signers never need.
    const { Pool: PoolClass } = await import('undici');
    const transport = new Transport(
      endpointsOf(opts, PoolClass),
      headers,
      opts.retries ?? 4,
      opts.retryDelayMs ?? 50,
      opts.timeoutMs ?? 30_000,
    );
    try {
      const keys = (await transport.call('GET', '/v1/keys')) as KeyEntry[];
      if (!Array.isArray(keys)) throw new RemoteSignerError(200, 'BAD_ANSWER', 'the signing service listed no keys');
      const key = opts.keyIndex === undefined ? keys[0] : keys.find((entry) => entry.keyIndex === opts.keyIndex);
      if (key === undefined) {
        const which = opts.keyIndex === undefined ? 'any key' : `key index ${opts.keyIndex}`;
        throw new RemoteSignerError(404, 'KEY_NOT_FOUND', `the signing service does not serve ${which}`);
      }
      if (key.keyIndex !== null && !(Number.isSafeInteger(key.keyIndex) && key.keyIndex >= 0)) {
        throw new RemoteSignerError(200, 'BAD_ANSWER', 'the signing service listed a key with a malformed keyIndex');
      }
      return new RemoteSigner(transport, key.keyIndex, hexToBytes(key.publicKey));
    } catch (error) {
      await transport.close();
      throw error;
    }
  }

  /**
   * Sends only e = SM3(Z||message), computed here: the service signs it the same way, and the
   * message, however long, never crosses the network.
   */
  async sign(message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    return this.signDigest(this.digestOf(message, opts.userId));
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    requireDigest(digest);
    // Written out rather than JSON.stringify'd: hex and an integer need no escaping.
    const body = `{"digest":"${bytesToHex(digest)}"${this.keyIndexField}}`;
    return this.signatureOf(await this.transport.call('POST', '/v1/sign', body));
  }

  private signatureOf(answer: unknown): Uint8Array {
    const { signature, publicKey } = answer as { signature?: unknown; publicKey?: unknown };
    // Behind a load balancer a misconfigured instance could hold another key: never pass its signature on.
    if (publicKey !== this.nodeId || typeof signature !== 'string' || signature.length !== 128) {
      throw new RemoteSignerError(
        200,
        'KEY_MISMATCH',
        'the signing service answered with another key or a malformed signature',
      );
    }
    return hexToBytes(signature);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** A signer backed by `gmt0018 serve`; fetches the public key from /v1/keys before returning. */
export function createRemoteSigner(opts: RemoteSignerOptions): Promise<RemoteSigner> {
  return RemoteSigner.connect(opts);
}

/** The options `[security] remote_signer_url` / `remote_signer_token_file` stand for. */
export function remoteSignerOptionsFromConfig(config: SecurityConfig): RemoteSignerOptions {
  const settings = config.remoteSigner;
  if (settings === undefined) throw new TypeError('the config has no remote_signer_url');
  const opts: RemoteSignerOptions = { urls: settings.urls };
  if (settings.tokenFile !== undefined) {
    try {
      opts.token = readFileSync(settings.tokenFile, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(
        ConfigErrorCodes.CONFIG_FILE_UNREADABLE,
        `cannot read the token file ${settings.tokenFile} (${code})`,
        {
          ...(config.configPath === undefined ? {} : { file: config.configPath }),
          section: 'security',
          key: 'remote_signer_token_file',
        },
      );
    }
  }
  return opts;
}
