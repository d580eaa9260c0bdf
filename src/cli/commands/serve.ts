import type { SigningServer, SigningServerOptions } from '../../server';
// The defaults as the service applies them (these modules load no HTTP framework).
import { DEFAULT_CONNECTION_LIMITS } from '../../server/connections';
import {
  DEFAULT_HOST,
  DEFAULT_MAX_BODY,
  DEFAULT_MAX_QUEUE,
  DEFAULT_MAX_VERIFY_QUEUE,
  DEFAULT_PORT,
} from '../../server/listen';
import { MAX_SIGN_THREADS } from '../../signer/sign-workers';
import { defineCommand, required, SIGNER_OPTIONS, UsageError } from '../command';
import { loadCommandConfig } from '../node-config';
import { positiveInt, readFlagFile, readSecretFlagFile } from '../input';

function readFile(file: string | undefined, flag: string): Buffer | undefined {
  return file === undefined ? undefined : readFlagFile(file, flag);
}

function keyIndices(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part) || Number(part) > 0x7fffffff)) {
    throw new UsageError(`--allow-key-index must be comma-separated key indices, e.g. 1,2 (got ${value})`);
  }
  return parts.map(Number);
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

/** Flags that take a positive integer, and the option each sets. */
const NUMBER_FLAGS = {
  'max-body': 'maxBody',
  'max-queue': 'maxQueue',
  'max-verify-queue': 'maxVerifyQueue',
  'max-connections': 'maxConnections',
  'request-timeout-ms': 'requestTimeoutMs',
  'headers-timeout-ms': 'headersTimeoutMs',
  'keep-alive-timeout-ms': 'keepAliveTimeoutMs',
} as const satisfies Record<string, keyof SigningServerOptions>;

/** Resolves on the first SIGTERM or SIGINT. */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/**
 * With --audit-log, SIGHUP reopens the audit log (log rotation: `mv audit.log audit.log.1`, then
 * SIGHUP, and the next lines go to a new audit.log). Without it SIGHUP keeps its default (the
 * process ends). A SIGHUP while the service starts finds nothing to reopen: the file opened at
 * start is already the current one.
 */
function reopenAuditLogOnSighup(server: () => SigningServer | undefined): void {
  process.on('SIGHUP', () => {
    const running = server();
    if (running === undefined) return;
    running.reopenAuditLog().then(
      () => process.stderr.write('gmt0018 serve: SIGHUP, audit log reopened\n'),
      (error: NodeJS.ErrnoException) =>
        process.stderr.write(
          `gmt0018 serve: SIGHUP, cannot reopen the audit log (${error.code ?? 'error'}); still writing to the old file\n`,
        ),
    );
  });
}

export const serve = defineCommand({
  name: 'serve',
  summary: 'run the signing service (HTTP+JSON) in front of the configured card or key',
  options: {
    ...SIGNER_OPTIONS,
    listen: {
      type: 'string',
      value: 'HOST:PORT',
      defaultNote: `${DEFAULT_HOST}:${DEFAULT_PORT}`,
      description: 'where to listen',
    },
    'token-file': {
      type: 'string',
      value: 'FILE',
      defaultNote: '$GMT0018_SERVE_TOKEN',
      description: 'a file holding the bearer token clients must send',
    },
    'insecure-no-auth': { type: 'boolean', description: 'no token at all (loopback only)' },
    'allowed-hosts': {
      type: 'string',
      value: 'H,H:P',
      defaultNote: 'the listen address',
      description: "Host header values served ('*': any)",
    },
    'tls-cert': { type: 'string', value: 'FILE', description: 'TLS certificate chain, PEM (with --tls-key)' },
    'tls-key': { type: 'string', value: 'FILE', description: 'TLS private key, PEM (with --tls-cert)' },
    'client-ca': { type: 'string', value: 'FILE', description: 'require client certificates from this CA (mTLS)' },
    'allow-key-index': {
      type: 'string',
      value: '1,2',
      defaultNote: "the config's key_index",
      description: 'card key indices clients may use',
    },
    'max-body': {
      type: 'string',
      value: 'BYTES',
      defaultNote: String(DEFAULT_MAX_BODY),
      description: 'largest request body',
    },
    'max-queue': {
      type: 'string',
      value: 'N',
      defaultNote: String(DEFAULT_MAX_QUEUE),
      description: 'sign requests that may wait',
    },
    'max-verify-queue': {
      type: 'string',
      value: 'N',
      defaultNote: String(DEFAULT_MAX_VERIFY_QUEUE),
      description: 'verify requests that may wait',
    },
    'max-connections': {
      type: 'string',
      value: 'N',
      defaultNote: String(DEFAULT_CONNECTION_LIMITS.maxConnections),
      description: 'connections open at once',
    },
    'request-timeout-ms': {
      type: 'string',
      value: 'MS',
      defaultNote: String(DEFAULT_CONNECTION_LIMITS.requestTimeoutMs),
      description: 'time for a whole request to arrive',
    },
    'headers-timeout-ms': {
      type: 'string',
      value: 'MS',
      defaultNote: String(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs),
      description: 'time for the headers (and TLS handshake) to arrive',
    },
    'keep-alive-timeout-ms': {
      type: 'string',
      value: 'MS',
      defaultNote: String(DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs),
      description: 'idle keep-alive connections close after this',
    },
    'metrics-listen': {
      type: 'string',
      value: 'HOST:PORT',
      description: 'serve Prometheus /metrics on a listener of its own',
    },
    'audit-log': {
      type: 'string',
      value: 'FILE',
      description: 'append one JSON line per signature (SIGHUP reopens it)',
    },
    threads: {
      type: 'string',
      value: 'N',
      defaultNote: 'one per core but one',
      description: `software key: signing threads, at most ${MAX_SIGN_THREADS}`,
    },
    'log-level': {
      type: 'string',
      value: LOG_LEVELS.join('|'),
      defaultNote: 'info',
      description: 'JSON log lines on stdout at this level and above',
    },
  },
  notes: ['Without TLS it listens on loopback only. SIGTERM or SIGINT drains and closes it.'],
  async run(values, out) {
    // Loaded here, not at the top: Fastify and prom-client cost ~80 ms that other commands never need.
    const { parseListen, ServeRefusedError, startSigningServer } = await import('../../server');
    const options: SigningServerOptions = { config: values.config, batchHelperThreads: true };
    try {
      if (values.listen !== undefined) Object.assign(options, parseListen(values.listen));
      if (values['metrics-listen'] !== undefined) {
        options.metricsListen = parseListen(values['metrics-listen'], '--metrics-listen');
      }
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    // Both trimmed: a blank token (a newline, spaces) is no token, and refused as such.
    const token =
      values['token-file'] !== undefined
        ? readSecretFlagFile(values['token-file'], '--token-file')
        : process.env.GMT0018_SERVE_TOKEN?.trim();
    if (token !== undefined && token !== '') options.token = token;
    if (values['insecure-no-auth'] === true) options.insecureNoAuth = true;
    if (values['allowed-hosts'] !== undefined) options.allowedHosts = values['allowed-hosts'].split(',');
    if (values['audit-log'] !== undefined) options.auditLog = required(values['audit-log'], '--audit-log');

    const cert = readFile(values['tls-cert'], '--tls-cert');
    const key = readFile(values['tls-key'], '--tls-key');
    const clientCa = readFile(values['client-ca'], '--client-ca');
    if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
    if (clientCa !== undefined && cert === undefined)
      throw new UsageError('--client-ca needs --tls-cert and --tls-key');
    if (cert !== undefined && key !== undefined)
      options.tls = clientCa === undefined ? { cert, key } : { cert, key, clientCa };

    const allow = keyIndices(values['allow-key-index']);
    if (allow !== undefined) options.allowKeyIndices = allow;
    for (const [flag, option] of Object.entries(NUMBER_FLAGS)) {
      const value = values[flag as keyof typeof NUMBER_FLAGS];
      if (value !== undefined) options[option] = positiveInt(value, `--${flag}`);
    }
    // Software backend only: worker threads that sign (default: one per core but one).
    const threads = values.threads === undefined ? undefined : positiveInt(values.threads, '--threads');
    if (threads !== undefined && threads > MAX_SIGN_THREADS) {
      throw new UsageError(`--threads must be at most ${MAX_SIGN_THREADS}, got ${threads}`);
    }
    if (threads !== undefined) options.signerOptions = { threads };

    const level = values['log-level'];
    if (level !== undefined) {
      if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      options.log = level === 'silent' ? false : { level: level as 'info' };
    }

    // Read here, after the flags are checked, for its warnings and --verbose.
    options.config = loadCommandConfig(values, out);

    // Listening for signals before the service starts: a SIGTERM sent the moment it says it is
    // listening, or while it starts, still drains and closes it instead of killing it.
    const shutdown = shutdownSignal();
    let server: SigningServer | undefined;
    if (options.auditLog !== undefined) reopenAuditLogOnSighup(() => server);
    try {
      server = await startSigningServer(options);
    } catch (error) {
      if (error instanceof ServeRefusedError) throw new UsageError(error.message);
      throw error;
    }
    process.stderr.write(`gmt0018 serve: listening on ${server.url}\n`);
    if (server.metricsUrl !== undefined)
      process.stderr.write(`gmt0018 serve: metrics on ${server.metricsUrl}/metrics\n`);
    const signal = await shutdown;
    process.stderr.write(`gmt0018 serve: ${signal}, draining and closing\n`);
    await server.close();
  },
});
