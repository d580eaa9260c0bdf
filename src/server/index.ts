import { loadSecurityConfig, type SecurityConfig } from '../config';
import type { SignerOptions } from '../signer';
import { buildApp } from './app';
import { AuditLog } from './audit';
import { BearerAuth } from './auth';
import { connectionLimits } from './connections';
import { HostAllowlist } from './hosts';
import { KeyRing } from './keys';
import { Limiter } from './limiter';
import {
  DEFAULT_HOST,
  DEFAULT_MAX_BODY,
  DEFAULT_MAX_QUEUE,
  DEFAULT_MAX_VERIFY_QUEUE,
  DEFAULT_PORT,
  isLoopback,
  ServeRefusedError,
  urlOf,
} from './listen';
import { loggerOptions, type LogOptions } from './log';
import { ServerMetrics } from './metrics';
import { listenMetrics, type MetricsListener } from './metrics-listener';
import { SigningService } from './service';
import { runHelperThreadsAsBatch } from './thread-policy';

export { ServeRefusedError, parseListen, isLoopback, DEFAULT_HOST, DEFAULT_PORT } from './listen';
export { ApiError } from './errors';
export { DEFAULT_CONNECTION_LIMITS } from './connections';

export { DEFAULT_MAX_BODY, DEFAULT_MAX_QUEUE, DEFAULT_MAX_VERIFY_QUEUE } from './listen';

export interface SigningServerTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA that client certificates must chain to: turns on mutual TLS. */
  clientCa?: string | Buffer;
}

export interface SigningServerOptions {
  /** config.ini path or a SecurityConfig: the card or key file the service signs with. */
  config: string | SecurityConfig;
  /** Default 127.0.0.1; anything but loopback needs `tls`. */
  host?: string;
  /** Default 8443; 0 picks a free port (see the returned url). */
  port?: number;
  /** Bearer token clients must send. Required unless `insecureNoAuth` on loopback. */
  token?: string;
  insecureNoAuth?: boolean;
  /**
   * Host header values served (HOST or HOST:PORT; `['*']` for any); others get 403. Default on
   * loopback: localhost, 127.0.0.1, [::1] and the listen address, with no port or the listen port;
   * elsewhere any.
   */
  allowedHosts?: readonly string[];
  tls?: SigningServerTls;
  /** Card key indices the service may use; default: the config's key_index only. */
  allowKeyIndices?: readonly number[];
  /** Largest request body in bytes (413 beyond). Default 1 MiB. */
  maxBody?: number;
  /** Signatures computed at once; default one per device session, or eight per software signing thread. */
  concurrency?: number;
  /** Requests that may wait for a slot before 429. Default 1024. */
  maxQueue?: number;
  /** /v1/verify requests that may wait (they run one at a time on the event loop) before 429. Default 64. */
  maxVerifyQueue?: number;
  /** Time for a whole request (headers and body) to arrive, else 408 and closed. Default 10 s. */
  requestTimeoutMs?: number;
  /** Time for the headers (and a TLS handshake) to arrive; at most requestTimeoutMs. Default 5 s. */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Connections open at once; further ones are closed on arrival. Default 512. */
  maxConnections?: number;
  signerOptions?: SignerOptions;
  /**
   * Run every other thread of the process (device calls, signing workers, V8's helpers) as
   * SCHED_BATCH so that none preempts the event loop on waking (Linux; see thread-policy.ts).
   * Meant for a process of its own, as `gmt0018 serve` is. Default false.
   */
  batchHelperThreads?: boolean;
  /**
   * Append one JSON line per sign request to this file (written and synced before the answer;
   * no signature is returned when it cannot be). See reopenAuditLog() for rotation.
   */
  auditLog?: string;
  /** Serve /metrics on this address instead of the main listener (plain HTTP; port 0 picks one). */
  metricsListen?: { host: string; port: number };
  /** Where pino writes JSON log lines (default stdout), or false for no log. */
  log?: LogOptions;
}

export interface SigningServer {
  readonly url: string;
  /** The metrics listener's base URL, with `metricsListen`. */
  readonly metricsUrl?: string;
  /** After log rotation (the CLI does this on SIGHUP): the audit trail goes on in a new file at its path. */
  reopenAuditLog(): Promise<void>;
  /** Stops accepting, lets requests in flight finish, then closes the audit log and the signers. */
  close(): Promise<void>;
}

/**
 * Checks everything that needs no I/O, so a bad combination fails before a device is opened;
 * gives the connection limits and the host allowlist it read on the way.
 */
function checkOptions(
  opts: SigningServerOptions,
  host: string,
): { limits: ReturnType<typeof connectionLimits>; hosts: HostAllowlist } {
  const limits = connectionLimits(opts);
  const hosts = hostAllowlist(opts, host);
  const loopback = isLoopback(host);
  if (!loopback && opts.tls === undefined) {
    throw new ServeRefusedError(
      `refusing to listen on ${host} without TLS (give --tls-cert and --tls-key, or bind 127.0.0.1)`,
    );
  }
  if (opts.token !== undefined && opts.token !== '' && /\s/.test(opts.token)) {
    // `Authorization: Bearer <token>` cannot carry whitespace in the token: nobody could use it.
    throw new ServeRefusedError('the token is blank or contains whitespace (no client could send it)');
  }
  if (opts.token === undefined || opts.token === '') {
    if (opts.insecureNoAuth !== true) {
      throw new ServeRefusedError(
        'no token configured (give --token-file or GMT0018_SERVE_TOKEN, or --insecure-no-auth on loopback)',
      );
    }
    if (!loopback) throw new ServeRefusedError(`--insecure-no-auth is only allowed on loopback, not on ${host}`);
  }
  return { limits, hosts };
}

function hostAllowlist(opts: SigningServerOptions, host: string): HostAllowlist {
  return opts.allowedHosts === undefined ? HostAllowlist.defaultFor(host) : HostAllowlist.parse(opts.allowedHosts);
}

function httpsOptions(tls: SigningServerTls | undefined): Record<string, unknown> | undefined {
  if (tls === undefined) return undefined;
  const out: Record<string, unknown> = { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' };
  if (tls.clientCa !== undefined) Object.assign(out, { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true });
  return out;
}

async function openAuditLog(path: string): Promise<AuditLog> {
  try {
    return await AuditLog.open(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ServeRefusedError(`cannot open the audit log ${JSON.stringify(path)} for appending (${code})`);
  }
}

/** Starts `gmt0018 serve` in this process. */
export async function startSigningServer(opts: SigningServerOptions): Promise<SigningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  const { limits, hosts } = checkOptions(opts, host);
  const auth = opts.token === undefined || opts.token === '' ? undefined : new BearerAuth(opts.token);
  const config = typeof opts.config === 'string' ? loadSecurityConfig(opts.config) : opts.config;
  const audit = opts.auditLog === undefined ? undefined : await openAuditLog(opts.auditLog);
  const keys = await KeyRing.open(config, opts.allowKeyIndices, opts.signerOptions ?? {}).catch(async (error) => {
    await audit?.close();
    throw error;
  });
  let metricsListener: MetricsListener | undefined;
  try {
    const limiter = new Limiter(opts.concurrency ?? keys.parallelism(), opts.maxQueue ?? DEFAULT_MAX_QUEUE);
    const metrics = new ServerMetrics({
      inFlight: () => limiter.inFlight,
      queued: () => limiter.queued,
      sessions: () => keys.sessions(),
    });
    const https = httpsOptions(opts.tls);
    const app = buildApp({
      service: new SigningService(
        keys,
        limiter,
        metrics,
        new Limiter(1, opts.maxVerifyQueue ?? DEFAULT_MAX_VERIFY_QUEUE, 'verify requests'),
      ),
      metrics,
      auth,
      hosts,
      maxBody: opts.maxBody ?? DEFAULT_MAX_BODY,
      limits,
      serveMetrics: opts.metricsListen === undefined,
      ...(audit === undefined ? {} : { audit }),
      logger: loggerOptions(opts.log) as never,
      ...(https === undefined ? {} : { https }),
    });
    if (opts.batchHelperThreads === true)
      app.log.info({ helperThreads: await runHelperThreadsAsBatch() }, 'thread policy');
    if (opts.metricsListen !== undefined) {
      metricsListener = await listenMetrics(metrics.registry, opts.metricsListen, limits);
    }
    await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? DEFAULT_PORT);
    let closing: Promise<void> | undefined;
    const metricsClosed = metricsListener;
    return {
      url: urlOf(https === undefined ? 'http' : 'https', host, port),
      ...(metricsListener === undefined ? {} : { metricsUrl: metricsListener.url }),
      async reopenAuditLog() {
        await audit?.reopen();
      },
      close() {
        closing ??= Promise.all([app.close(), metricsClosed?.close()])
          .finally(() => audit?.close())
          .finally(() => keys.close())
          .then(() => undefined);
        return closing;
      },
    };
  } catch (error) {
    await metricsListener?.close();
    await audit?.close();
    await keys.close();
    throw error;
  }
}
