import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { answerClientError, capConnections, type ConnectionLimits, serverOptions } from './connections';
import { ApiError, errorBody } from './errors';
import { urlOf } from './listen';
import { pathOf } from './log';

export interface MetricsListener {
  /** Base URL; the metrics are at `${url}/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, error: ApiError): void {
  response.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(errorBody(error)));
}

/**
 * `GET /metrics` on a listener of its own (`--metrics-listen`), plain HTTP, so that the scrape
 * can sit on another address or port than the signing API. It serves nothing else, and has the
 * same connection limits as the main listener.
 */
export async function listenMetrics(
  registry: Registry,
  address: { host: string; port: number },
  limits: ConnectionLimits,
): Promise<MetricsListener> {
  const server = createServer(serverOptions(limits, false), (request, response) => {
    if (request.method !== 'GET' || pathOf(request.url ?? '') !== '/metrics') {
      sendJson(response, new ApiError(404, 'NOT_FOUND', 'this listener serves GET /metrics only'));
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(text);
      },
      () => sendJson(response, new ApiError(500, 'INTERNAL', 'internal error')),
    );
  });
  capConnections(server, limits);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  return {
    url: urlOf('http', address.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
