import type { SigningServer, SigningServerOptions } from '../../server';
import { MAX_SIGN_THREADS } from '../../signer/sign-workers';
import { defineCommand, required, UsageError } from '../command';
import { readFlagFile } from '../input';

function readSecretFile(file: string, flag: string): string {
  return readFlagFile(file, flag).toString('utf8').trim();
}

function readFile(file: string | undefined, flag: string): Buffer | undefined {
  return file === undefined ? undefined : readFlagFile(file, flag);
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${value}`);
  return Number(value);
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
  usage:
    'gmt0018 serve --config config.ini [--listen HOST:PORT] [--token-file F] [--insecure-no-auth] [--allowed-hosts H,H:P] ' +
    '[--tls-cert F --tls-key F [--client-ca F]] [--allow-key-index 1,2] [--max-body BYTES] [--max-queue N] [--max-verify-queue N] ' +
    '[--max-connections N] [--request-timeout-ms MS] [--headers-timeout-ms MS] [--keep-alive-timeout-ms MS] ' +
    '[--metrics-listen HOST:PORT] [--audit-log FILE] [--threads N] [--log-level info|warn|error|silent]',
  options: {
    config: { type: 'string' },
    listen: { type: 'string' },
    'token-file': { type: 'string' },
    'insecure-no-auth': { type: 'boolean' },
    'allowed-hosts': { type: 'string' },
    'metrics-listen': { type: 'string' },
    'audit-log': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'client-ca': { type: 'string' },
    'allow-key-index': { type: 'string' },
    'max-body': { type: 'string' },
    'max-queue': { type: 'string' },
    'max-verify-queue': { type: 'string' },
    'max-connections': { type: 'string' },
    'request-timeout-ms': { type: 'string' },
    'headers-timeout-ms': { type: 'string' },
    'keep-alive-timeout-ms': { type: 'string' },
    threads: { type: 'string' },
    'log-level': { type: 'string' },
  },
  async run(values) {
    // Loaded here, not at the top: Fastify and prom-client cost ~80 ms that other commands never need.
    const { parseListen, ServeRefusedError, startSigningServer } = await import('../../server');
    const options: SigningServerOptions = { config: required(values.config, '--config'), batchHelperThreads: true };
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
        ? readSecretFile(values['token-file'], '--token-file')
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
      const value = positiveInt(values[flag as keyof typeof NUMBER_FLAGS], `--${flag}`);
      if (value !== undefined) options[option] = value;
    }
    // Software backend only: worker threads that sign (default: one per core but one).
    const threads = positiveInt(values.threads, '--threads');
    if (threads !== undefined && threads > MAX_SIGN_THREADS) {
      throw new UsageError(`--threads must be at most ${MAX_SIGN_THREADS}, got ${threads}`);
    }
    if (threads !== undefined) options.signerOptions = { threads };

    const level = values['log-level'];
    if (level !== undefined) {
      if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      options.log = level === 'silent' ? false : { level: level as 'info' };
    }

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
