import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface SlowOutcome {
  /** Milliseconds from the connection being up to it being closed. */
  ms: number;
  /** Who closed it: the server, or this helper (at its deadline, or on close()). */
  closedBy: 'server' | 'deadline';
  /** Everything the server sent. */
  received: string;
}

export interface SlowClientOptions {
  /** Request head (up to the blank line) sent once connected; nothing at all when omitted. */
  head?: string;
  /** One body byte every this many ms while the connection is open. Default 200. */
  everyMs?: number;
  /** The helper gives up and closes the connection itself after this. */
  deadlineMs: number;
  /** Connect over TLS with these options. */
  tls?: ConnectionOptions;
}

/**
 * A connection that announces a request and then sends its body a byte at a time, as a slowloris
 * attack does; `connected` resolves once it is up, `closed` when it ends, whoever ended it.
 */
export function slowClient(
  url: string,
  opts: SlowClientOptions,
): { connected: Promise<void>; closed: Promise<SlowOutcome>; close(): void } {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const socket: Socket =
    opts.tls === undefined ? tcpConnect(Number(port), host) : tlsConnect({ ...opts.tls, host, port: Number(port) });
  let openedAt = Date.now();
  let received = '';
  let trickle: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let closedBy: SlowOutcome['closedBy'] = 'server';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined); // a reset from the server is one way for it to close
  const connected = new Promise<void>((resolve, reject) => {
    socket.once(opts.tls === undefined ? 'connect' : 'secureConnect', () => {
      openedAt = Date.now();
      if (opts.head !== undefined) socket.write(opts.head);
      if (opts.head !== undefined) trickle = setInterval(() => socket.write('a'), opts.everyMs ?? 200);
      resolve();
    });
    socket.once('close', () => reject(new Error('closed before it was up')));
  });
  connected.catch(() => undefined);
  deadline = setTimeout(() => {
    closedBy = 'deadline';
    socket.destroy();
  }, opts.deadlineMs);
  const closed = new Promise<SlowOutcome>((resolve) => {
    socket.once('close', () => {
      clearInterval(trickle);
      clearTimeout(deadline);
      deadline = undefined;
      resolve({ ms: Date.now() - openedAt, closedBy, received });
    });
  });
  return {
    connected,
    closed,
    close() {
      closedBy = 'deadline';
      socket.destroy();
    },
  };
}

/** The head of a request announcing a body of `length` bytes that will come slowly. */
export function slowHead(method: string, path: string, headers: Record<string, string> = {}, length = 1000): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${length}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
