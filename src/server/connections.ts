import { STATUS_CODES } from 'node:http';
import type { Server, Socket } from 'node:net';
import { ApiError, errorBody } from './errors';
import { ServeRefusedError } from './listen';

/**
 * How long a client may take and how many connections a listener holds. Node's and Fastify's
 * defaults leave a request that trickles in (headers announcing a body, then a byte every few
 * seconds) open for ever, so a few hundred such connections use up the process's descriptors.
 */
export interface ConnectionLimits {
  /** The whole request (headers and body) must have arrived within this; else 408 and closed. */
  requestTimeoutMs: number;
  /** The headers must have arrived within this (at most requestTimeoutMs); also the TLS handshake. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; further ones are closed as they come. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
};

/** The flag that sets each limit, for messages. */
const FLAGS: Record<keyof ConnectionLimits, string> = {
  requestTimeoutMs: '--request-timeout-ms',
  headersTimeoutMs: '--headers-timeout-ms',
  keepAliveTimeoutMs: '--keep-alive-timeout-ms',
  maxConnections: '--max-connections',
};

/** The defaults with `given` over them; refuses values that would switch a limit off. */
export function connectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const key of Object.keys(FLAGS) as (keyof ConnectionLimits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new ServeRefusedError(`${FLAGS[key]} must be a positive integer, got ${value}`);
    }
    limits[key] = value;
  }
  // Node swaps the two when headers take longer than the request, which silently makes the
  // request timeout the longer one: refuse that instead.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ServeRefusedError(
      `--headers-timeout-ms (${limits.headersTimeoutMs}) must not exceed --request-timeout-ms (${limits.requestTimeoutMs})`,
    );
  }
  return limits;
}

/**
 * How often Node looks for requests past their time. Its default is 30 s, so a request timeout of
 * a few seconds would only be enforced half a minute late: check four times per timeout, at
 * least every second.
 */
export function checkingIntervalMs(limits: ConnectionLimits): number {
  return Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
}

/**
 * Options for http.createServer / https.createServer. The checking interval can only be given at
 * creation; `handshakeTimeout` bounds a TLS connection that never finishes its handshake (the
 * HTTP timeouts only start once it has).
 */
export function serverOptions(limits: ConnectionLimits, tls: boolean): Record<string, number> {
  const options: Record<string, number> = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
  };
  if (tls) options.handshakeTimeout = limits.headersTimeoutMs;
  return options;
}

/** The connection cap, on a server already created. */
export function capConnections(server: Server, limits: ConnectionLimits): void {
  server.maxConnections = limits.maxConnections;
}

/** What a client that broke the HTTP rules (or ran out of time) is told, in the usual error shape. */
export function clientErrorOf(error: NodeJS.ErrnoException): ApiError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ApiError(408, 'REQUEST_TIMEOUT', 'the request did not arrive in time');
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new ApiError(431, 'HEADERS_TOO_LARGE', 'the request headers are too large');
  }
  return new ApiError(400, 'BAD_HTTP', 'the request is not valid HTTP');
}

/**
 * Answers a client error (a timeout, malformed HTTP) on the raw socket and closes it. The answer
 * goes out only on a connection that has had no answer yet: one answered early (a GET whose
 * announced body never came) must not get a second, unasked-for response.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): ApiError | undefined {
  if (error.code === 'ECONNRESET' || socket.destroyed) return undefined;
  const api = clientErrorOf(error);
  if (socket.writable && socket.bytesWritten === 0) {
    const body = JSON.stringify(errorBody(api));
    socket.write(
      `HTTP/1.1 ${api.status} ${STATUS_CODES[api.status] ?? ''}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
  return api;
}
