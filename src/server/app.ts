import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AuditLog } from './audit';
import { signWithAudit } from './audited-sign';
import type { BearerAuth } from './auth';
import { clientIdentity } from './client-identity';
import { answerClientError, capConnections, type ConnectionLimits, serverOptions } from './connections';
import { ApiError, errorBody, toApiError } from './errors';
import type { HostAllowlist } from './hosts';
import { pathOf } from './log';
import type { ServerMetrics } from './metrics';
import { parseSignRequest, parseVerifyRequest } from './requests';
import { AJV_OPTIONS, bodySchemas } from './schemas';
import type { SigningService } from './service';

/** Routes anyone may call (probes and the scrape): they reveal nothing secret. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export interface AppOptions {
  service: SigningService;
  metrics: ServerMetrics;
  auth: BearerAuth | undefined;
  hosts: HostAllowlist;
  maxBody: number;
  limits: ConnectionLimits;
  /** The audit trail of sign requests (--audit-log), if any. */
  audit?: AuditLog;
  /** False when /metrics has a listener of its own (--metrics-listen). */
  serveMetrics: boolean;
  logger: FastifyServerOptions['logger'];
  https?: Record<string, unknown>;
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const { service, metrics, auth, limits } = opts;
  const nodeOptions = serverOptions(limits, opts.https !== undefined);
  const app = Fastify({
    logger: opts.logger,
    bodyLimit: opts.maxBody,
    ajv: AJV_OPTIONS,
    // Request ids name a request in the audit trail: unique across restarts and instances.
    genReqId: () => randomUUID(),
    // Fastify sets these two on the server itself, over what the server was created with.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
      const api = answerClientError(error, socket);
      if (api !== undefined) metrics.clientErrors.inc({ code: api.code });
    },
    // Requests arriving while the service closes get our 503 below, in the usual error shape.
    return503OnClosing: false,
    ...(opts.https === undefined ? { http: nodeOptions } : { https: { ...opts.https, ...nodeOptions } }),
  } as FastifyServerOptions);
  capConnections(app.server, limits);

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  // The port the Host header may name; known once the server listens, before any request.
  let listenPort: number | undefined;
  const portOf = (): number => (listenPort ??= (app.server.address() as AddressInfo | null)?.port ?? 0);

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (!opts.hosts.allows(request.headers.host, portOf())) {
      throw new ApiError(403, 'HOST_NOT_ALLOWED', 'the Host header names a host this service does not serve');
    }
    if (closing) throw new ApiError(503, 'SHUTTING_DOWN', 'the service is shutting down (try another instance)');
    if (auth === undefined || OPEN_ROUTES.has(pathOf(request.url))) return;
    if (!auth.accepts(request.headers.authorization)) {
      throw new ApiError(401, 'UNAUTHORIZED', 'missing or wrong bearer token');
    }
  });

  // Answers sent while the service closes end their connection: a keep-alive connection left
  // idle would hold the close (and the card's sessions) open until its keep-alive timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
  });

  app.setErrorHandler(async (error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500) request.log.warn({ code: api.code }, 'request failed');
    return reply.code(api.status).send(errorBody(api));
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send(errorBody(new ApiError(404, 'NOT_FOUND', `no route ${request.method} ${pathOf(request.url)}`))),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const state = await service.readiness();
    if (state.ready) return { status: 'ready' };
    return reply
      .code(503)
      .send(errorBody(new ApiError(503, state.code ?? 'NOT_READY', 'the signing backend is not ready')));
  });

  if (opts.serveMetrics) {
    app.get('/metrics', async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  }

  app.get('/v1/keys', async () => service.listKeys());
  const schemas = bodySchemas(opts.maxBody);
  const audit = opts.audit;
  app.post('/v1/sign', { schema: { body: schemas.sign } }, async (request) => {
    const parsed = parseSignRequest(request.body as never);
    if (audit === undefined) return service.sign(parsed);
    const client = clientIdentity(request.raw.socket as TLSSocket, auth?.tokenId);
    return signWithAudit(service, audit, parsed, { requestId: request.id, client });
  });
  app.post('/v1/verify', { schema: { body: schemas.verify } }, async (request) =>
    service.verify(parseVerifyRequest(request.body as never)),
  );

  return app;
}
