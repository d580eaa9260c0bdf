import { rmSync } from 'node:fs';
import { startSigningServer } from '../../src/server';
import { generatePrivateKey } from '../../src/sm2';
import { writeNodeFolder } from '../helpers/node-config';
import { slowClient, slowHead } from '../helpers/slow-client';
import { startQuietServer } from '../helpers/serve';

const TOKEN = 'metrics-token-6b0c';
const node = writeNodeFolder({ security: 'private_key_path=conf/node.pem', privateKey: generatePrivateKey() });
afterAll(() => rmSync(node.dir, { recursive: true, force: true }));

test('/metrics carries Node process metrics next to the service ones', async () => {
  const server = await startSigningServer({ config: node.configPath, port: 0, token: TOKEN, log: false });
  try {
    expect(server.metricsUrl).toBeUndefined();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toContain('gmt0018_sign_in_flight');
  } finally {
    await server.close();
  }
});

test('with metricsListen, /metrics is served on its own listener only', async () => {
  const server = await startQuietServer(node.configPath, TOKEN, {
    metricsListen: { host: '127.0.0.1', port: 0 },
  });
  const metricsUrl = server.metricsUrl as string;
  try {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(server.url);
    const signed = await fetch(`${server.url}/v1/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '00' }),
    });
    expect(signed.status).toBe(200);

    const main = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(main.status).toBe(404);
    expect(((await main.json()) as any).error.code).toBe('NOT_FOUND');

    const scraped = await fetch(`${metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await scraped.text();
    expect(text).toMatch(/gmt0018_http_requests_total\{route="\/v1\/sign",method="POST",status="200"\} 1/);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);

    for (const path of ['/v1/keys', '/healthz', '/metrics/x']) {
      const other = await fetch(`${metricsUrl}${path}`);
      expect(other.status).toBe(404);
      expect(((await other.json()) as any).error.code).toBe('NOT_FOUND');
    }
  } finally {
    await server.close();
  }
  // Closed with the service.
  await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow('fetch failed');
});

test('the metrics listener cuts slow clients like the main one', async () => {
  const server = await startQuietServer(node.configPath, TOKEN, {
    metricsListen: { host: '127.0.0.1', port: 0 },
    requestTimeoutMs: 1000,
    headersTimeoutMs: 1000,
  });
  try {
    const slow = slowClient(server.metricsUrl as string, { head: slowHead('GET', '/metrics'), deadlineMs: 20_000 });
    const silent = slowClient(server.metricsUrl as string, { deadlineMs: 20_000 });
    const [trickled, mute] = await Promise.all([slow.closed, silent.closed]);
    expect(trickled.closedBy).toBe('server');
    expect(mute.closedBy).toBe('server');
  } finally {
    await server.close();
  }
});
