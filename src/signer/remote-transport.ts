import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { SignerClosedError } from './errors';
import { exchange } from './http-exchange';
import { backoffDelay, type RetryPolicy } from './recovery';
import { EndpointRotation, type EndpointBackoff } from './remote-endpoints';
import { answerJson, isEndpointFailure, isRetryable, noAnswerError } from './remote-errors';

/** One instance of the service. */
export interface Endpoint {
  readonly url: string;
  readonly pool: Pool;
  readonly basePath: string;
}

export interface TransportSettings {
  retry: RetryPolicy;
  endpointBackoff: EndpointBackoff;
  /** Deadline of one try. */
  timeoutMs: number;
}

/** What a caller makes of a 200 answer's JSON; throwing refuses the answer (and fails the try). */
export type Accept<T> = (json: unknown, url: string) => T;

/**
 * Requests to the instances: round robin over those in good standing, with retries, failover
 * and a deadline per try. Knows nothing of signatures: `accept` judges each answer. Everything,
 * the headers with the bearer token included, is in #private fields, out of reach of
 * util.inspect and property walks.
 */
export class Transport {
  readonly #endpoints: readonly Endpoint[];
  readonly #rotation: EndpointRotation;
  readonly #headers: Readonly<Record<string, string>>;
  /** The headers of a request with a JSON body. */
  readonly #jsonHeaders: Readonly<Record<string, string>>;
  readonly #settings: TransportSettings;
  #closed = false;

  constructor(endpoints: readonly Endpoint[], headers: Readonly<Record<string, string>>, settings: TransportSettings) {
    this.#endpoints = endpoints;
    this.#rotation = new EndpointRotation(endpoints.length, settings.endpointBackoff);
    this.#headers = headers;
    this.#jsonHeaders = { ...headers, 'content-type': 'application/json' };
    this.#settings = settings;
  }

  /**
   * One request, with retries and failover. `body` is JSON text, serialized once for every try.
   * The first try runs without async frames of its own: on the service's hot path each layer of
   * promises costs the event loop time every other request waits for.
   */
  call<T>(method: 'GET' | 'POST', path: string, body: string | null, accept: Accept<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new SignerClosedError('remote'));
    return this.#once(method, path, body, accept).catch((error: unknown) =>
      this.#retry(error, method, path, body, accept),
    );
  }

  async #retry<T>(
    firstError: unknown,
    method: 'GET' | 'POST',
    path: string,
    body: string | null,
    accept: Accept<T>,
  ): Promise<T> {
    const { retry } = this.#settings;
    const count = this.#endpoints.length;
    let lastError = firstError;
    for (let attempt = 2; attempt <= retry.attempts; attempt++) {
      if (!isRetryable(lastError)) throw lastError;
      if (this.#closed) throw new SignerClosedError('remote');
      // A fresh instance is tried at once; a backoff only once every instance has had a try.
      const tried = attempt - 1;
      if (tried % count === 0) {
        await sleep(backoffDelay(tried / count + 1, retry));
        if (this.#closed) throw new SignerClosedError('remote');
      }
      try {
        return await this.#once(method, path, body, accept);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  #once<T>(method: 'GET' | 'POST', path: string, body: string | null, accept: Accept<T>): Promise<T> {
    const index = this.#rotation.pick();
    const endpoint = this.#endpoints[index] as Endpoint;
    return exchange(endpoint.pool, {
      method,
      path: endpoint.basePath + path,
      headers: body === null ? this.#headers : this.#jsonHeaders,
      body,
      timeoutMs: this.#settings.timeoutMs,
    }).then(
      (answer) => {
        try {
          const result = accept(answerJson(endpoint.url, answer), endpoint.url);
          this.#rotation.succeeded(index);
          return result;
        } catch (error) {
          this.#judge(index, error);
          throw error;
        }
      },
      (error: unknown) => {
        const failure = noAnswerError(endpoint.url, error);
        this.#judge(index, failure);
        throw failure;
      },
    );
  }

  /** An instance that failed is skipped for a while; one that answered a 4xx is fine. */
  #judge(index: number, error: unknown): void {
    if (isEndpointFailure(error)) this.#rotation.failed(index);
    else this.#rotation.succeeded(index);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#endpoints.map((endpoint) => endpoint.pool.close()));
  }
}

/** The instances named by `url` / `urls`, each with its own pool of keep-alive connections. */
export function endpointsOf(
  opts: { url?: string; urls?: readonly string[]; ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer },
  connections: number,
  PoolClass: typeof Pool,
): Endpoint[] {
  const urls = opts.urls ?? (opts.url === undefined ? [] : [opts.url]);
  if (urls.length === 0) throw new TypeError('createRemoteSigner: give url or urls');
  const connect: Record<string, string | Buffer> = {};
  if (opts.ca !== undefined) connect.ca = opts.ca;
  if (opts.cert !== undefined) connect.cert = opts.cert;
  if (opts.key !== undefined) connect.key = opts.key;
  return urls.map((text, i) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      // Not quoted: text that is no URL may be anything, a credential included.
      throw new TypeError(`createRemoteSigner: URL ${i + 1} of ${urls.length} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`createRemoteSigner: ${url.origin} is not an http(s) URL`);
    }
    const pool = new PoolClass(url.origin, { connections, connect });
    return { url: url.origin, pool, basePath: url.pathname.replace(/\/+$/, '') };
  });
}
