import { isIP } from 'node:net';

/** The service's request limits when no flag sets them. */
export const DEFAULT_MAX_BODY = 1024 * 1024;
export const DEFAULT_MAX_QUEUE = 1024;
export const DEFAULT_MAX_VERIFY_QUEUE = 64;

/** Why the service will not start as asked: one line, no secret. */
export class ServeRefusedError extends Error {
  override readonly name = 'ServeRefusedError';
  readonly code = 'SERVE_REFUSED';
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8443;

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` → host and port; `flag` names the flag in the message. */
export function parseListen(text: string, flag = '--listen'): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) {
    throw new ServeRefusedError(`${flag} ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:8443)`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? DEFAULT_HOST : host, port };
}

/** Loopback only: 127.0.0.0/8, ::1 and the name localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function urlOf(scheme: 'http' | 'https', host: string, port: number): string {
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
