import type { DestinationStream, Level } from 'pino';

/** Log fields pino replaces, wherever they turn up. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
  '*.secret',
  'password',
  'token',
];

export type LogOptions = false | { stream?: DestinationStream; level?: Level };

/** A request URL without its query string (or fragment), which may carry a token or password. */
export function pathOf(url: string): string {
  return url.split(/[?#]/, 1)[0] ?? '';
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** What a log line shows of a request: Fastify's usual fields, with the path in place of the URL. */
export function requestLogFields(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: pathOf(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Fastify's `logger` option: pino with redaction and the request serializer above. */
export function loggerOptions(log: LogOptions | undefined): unknown {
  if (log === false) return false;
  const out: Record<string, unknown> = {
    level: log?.level ?? 'info',
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    serializers: { req: requestLogFields },
  };
  if (log?.stream !== undefined) out.stream = log.stream;
  return out;
}
