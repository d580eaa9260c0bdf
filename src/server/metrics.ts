import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The service's Prometheus metrics, in a registry of its own (never prom-client's global one), with
 * Node's process metrics (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, heap …).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly signSeconds: Histogram<'backend'>;
  readonly deviceErrors: Counter<'code'>;
  readonly clientErrors: Counter<'code'>;

  constructor(gauges: { inFlight: () => number; queued: () => number; sessions: () => number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'gmt0018_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.signSeconds = new Histogram({
      name: 'gmt0018_sign_duration_seconds',
      help: 'Time to produce one signature, queueing in front of the signer included',
      labelNames: ['backend'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.deviceErrors = new Counter({
      name: 'gmt0018_device_errors_total',
      help: 'Signing device errors, by SDR code name (or binding error code)',
      labelNames: ['code'],
      registers,
    });
    this.clientErrors = new Counter({
      name: 'gmt0018_http_client_errors_total',
      help: 'Connections closed for a client error: REQUEST_TIMEOUT, HEADERS_TOO_LARGE, BAD_HTTP',
      labelNames: ['code'],
      registers,
    });
    new Gauge({
      name: 'gmt0018_sign_in_flight',
      help: 'Signing requests running against the signer (at most the session count)',
      registers,
      collect() {
        this.set(gauges.inFlight());
      },
    });
    new Gauge({
      name: 'gmt0018_sign_queued',
      help: 'Signing requests waiting for a free slot',
      registers,
      collect() {
        this.set(gauges.queued());
      },
    });
    new Gauge({
      name: 'gmt0018_sessions',
      help: 'Device sessions open in the signer pools (0 for the software backend)',
      registers,
      collect() {
        this.set(gauges.sessions());
      },
    });
  }
}
