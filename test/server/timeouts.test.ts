import { rmSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { SigningServer } from '../../src/server';
import { generatePrivateKey } from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { slowClient, slowHead } from '../helpers/slow-client';
import { startQuietServer } from '../helpers/serve';

const TOKEN = 'timeouts-token-3e1f';
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey: generatePrivateKey() });
const auth = { authorization: `Bearer ${TOKEN}` };

afterAll(() => rmSync(node.dir, { recursive: true, force: true }));

/** One request on a connection of its own, so that it never waits behind a slow one. */
async function fresh(url: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const dispatcher = new Agent();
  try {
    const response = await request(url + path, {
      dispatcher,
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, text: await response.body.text() };
  } finally {
    await dispatcher.destroy();
  }
}

describe('slow clients are cut at the timeouts', () => {
  const REQUEST_TIMEOUT = 1500;
  const HEADERS_TIMEOUT = 1000;
  let server: SigningServer;

  beforeAll(async () => {
    server = await startQuietServer(node.configPath, TOKEN, {
      requestTimeoutMs: REQUEST_TIMEOUT,
      headersTimeoutMs: HEADERS_TIMEOUT,
    });
  });
  afterAll(() => server.close());

  test('300 connections trickling a body are all closed by the server while /healthz and signing answer', async () => {
    // Half post a signature request whose body never completes; half send a GET announcing a body,
    // which is answered at once but whose body keeps the connection busy.
    const clients = Array.from({ length: 300 }, (_, i) =>
      slowClient(server.url, {
        head: i % 2 === 0 ? slowHead('POST', '/v1/sign', auth) : slowHead('GET', '/healthz'),
        everyMs: 200,
        deadlineMs: 20_000,
      }),
    );
    await Promise.all(clients.map((client) => client.connected));

    // While they hold their connections, the service still answers.
    expect(await fresh(server.url, '/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
    const signed = await fresh(server.url, '/v1/sign', { message: '00ff' });
    expect(signed.status).toBe(200);
    expect(JSON.parse(signed.text).signature).toMatch(/^[0-9a-f]{128}$/);

    const outcomes = await Promise.all(clients.map((client) => client.closed));
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.closedBy).toBe('server');
      // At the timeout, checked every 250 ms; the slack is for a loaded 2-core machine.
      expect(outcome.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT - 100);
      expect(outcome.ms).toBeLessThan(REQUEST_TIMEOUT + 8_000);
      if (i % 2 === 0) {
        expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
        expect(outcome.received).toContain('{"error":{"code":"REQUEST_TIMEOUT"');
      } else {
        // Answered once, and not given a second, unasked-for 408 when cut.
        expect(outcome.received).toMatch(/^HTTP\/1\.1 200 /);
        expect(outcome.received.match(/HTTP\/1\.1/g)).toHaveLength(1);
      }
    }
    const metrics = await fresh(server.url, '/metrics');
    expect(metrics.text).toMatch(/gmt0018_http_client_errors_total\{code="REQUEST_TIMEOUT"\} (1[5-9]\d|[2-9]\d\d)/);
  }, 60_000);

  test('a connection that sends nothing is closed at the headers timeout', async () => {
    const silent = slowClient(server.url, { deadlineMs: 20_000 });
    await silent.connected;
    const outcome = await silent.closed;
    expect(outcome.closedBy).toBe('server');
    expect(outcome.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 100);
    expect(outcome.ms).toBeLessThan(HEADERS_TIMEOUT + 8_000);
  });
});

test('connections over --max-connections are closed on arrival; the service answers again once they go', async () => {
  const server = await startQuietServer(node.configPath, TOKEN, {
    maxConnections: 20,
  });
  const held = Array.from({ length: 20 }, () => slowClient(server.url, { deadlineMs: 30_000 }));
  try {
    await Promise.all(held.map((client) => client.connected));
    const over = slowClient(server.url, {
      head: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      deadlineMs: 20_000,
    });
    const outcome = await over.closed;
    expect(outcome.closedBy).toBe('server');
    expect(outcome.received).toBe('');
  } finally {
    for (const client of held) client.close();
  }
  await Promise.all(held.map((client) => client.closed));
  // The server sees the closes a moment later: a few tries, 100 ms apart, at most 5 s.
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = await fresh(server.url, '/healthz').then(
      (response) => response.status,
      () => 0,
    );
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status).toBe(200);
  await server.close();
});
