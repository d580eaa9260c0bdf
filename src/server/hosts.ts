import { isIP } from 'node:net';
import { isLoopback, ServeRefusedError } from './listen';

interface HostEntry {
  /** Lower case; an IPv6 address without its brackets. */
  host: string;
  /** Undefined: the entry matches no port or the listen port. */
  port?: number;
}

/** `name`, `name:port`, `[v6]` or `[v6]:port` → host and port; undefined when it is none of these. */
function splitHostPort(text: string): HostEntry | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/i.exec(text.trim());
  if (match === null) return undefined;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && port > 65535) return undefined;
  const host = (match[1] ?? match[2] ?? '').toLowerCase();
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  return port === undefined ? { host } : { host, port };
}

/**
 * The names the service answers to in the Host header, against DNS rebinding: a web page whose
 * name an attacker points at 127.0.0.1 makes the browser send `Host: attacker.example`, which a
 * loopback service without a token (`--insecure-no-auth`) would otherwise serve.
 */
export class HostAllowlist {
  private constructor(private readonly entries: readonly HostEntry[] | 'any') {}

  /** Every Host is accepted (`--allowed-hosts '*'`). */
  static any(): HostAllowlist {
    return new HostAllowlist('any');
  }

  /** `--allowed-hosts a,b:8443,[::1]`: `*` alone accepts any Host. */
  static parse(list: readonly string[]): HostAllowlist {
    if (list.length === 1 && list[0]?.trim() === '*') return HostAllowlist.any();
    const entries = list.map((text) => {
      const entry = splitHostPort(text);
      if (entry === undefined) {
        throw new ServeRefusedError(
          `--allowed-hosts entry ${JSON.stringify(text)} is not HOST or HOST:PORT ('*' alone allows any)`,
        );
      }
      return entry;
    });
    if (entries.length === 0) throw new ServeRefusedError('--allowed-hosts is empty');
    return new HostAllowlist(entries);
  }

  /**
   * Without --allowed-hosts: on loopback, the loopback names and the listen address; elsewhere any
   * Host (a token and TLS are required there, which a rebinding page has neither of).
   */
  static defaultFor(listenHost: string): HostAllowlist {
    if (!isLoopback(listenHost)) return HostAllowlist.any();
    const names = ['localhost', '127.0.0.1', '::1', listenHost.toLowerCase()];
    return new HostAllowlist([...new Set(names)].map((host) => ({ host })));
  }

  /** Whether a request's Host header names an allowed host, on `listenPort`. */
  allows(header: string | undefined, listenPort: number): boolean {
    if (this.entries === 'any') return true;
    const given = header === undefined ? undefined : splitHostPort(header);
    if (given === undefined) return false;
    return this.entries.some(
      (entry) =>
        entry.host === given.host &&
        (entry.port === undefined ? given.port === undefined || given.port === listenPort : entry.port === given.port),
    );
  }
}
