import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GatewayOptions, ServedDeployment } from './types.ts';

// The gateway's Prometheus series. Per-request series are updated on the hot path through label
// objects made once per deployment (LabelSet); everything that is a property of the fleet
// (readiness, restarts, in-flight, GPUs) is read from its source at scrape time instead.

const MIB = 1024 * 1024;

export type Engine = NonNullable<ServedDeployment['spec']['engine']>;
export type StatusLabels = { model: string; gpu: string; engine: Engine; status: string };
/** A deployment's labels. `engine` is a property of the deployment, so it adds no series. */
export type RouteLabels = { model: string; gpu: string; engine: Engine };
type RouteLabel = keyof RouteLabels;
const ROUTE_LABELS: RouteLabel[] = ['model', 'gpu', 'engine'];

/** The label objects of one deployment (model, gpu, engine), made once and reused by every request. */
export class LabelSet {
  readonly route: RouteLabels;
  private readonly byStatus = new Map<number, StatusLabels>();

  constructor(model: string, gpu: string, engine: Engine) {
    this.route = { model, gpu, engine };
  }

  withStatus(status: number): StatusLabels {
    let labels = this.byStatus.get(status);
    if (!labels) this.byStatus.set(status, (labels = { ...this.route, status: String(status) }));
    return labels;
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<RouteLabel | 'status'>;
  readonly duration: Histogram<RouteLabel>;
  readonly timeToFirstToken: Histogram<RouteLabel>;
  readonly generatedTokens: Counter<RouteLabel>;
  readonly rateLimited: Counter<RouteLabel | 'reason'>;
  readonly authFailures: Counter;
  readonly connectionsRefused: Counter<'reason'>;
  readonly requestsShed: Counter;
  readonly queueWait: Histogram<'model'>;
  readonly queueRejected: Counter<'model' | 'reason'>;
  /** Requests waiting in a model's queue; the queue (queue.ts) sets it. */
  queueLength: (model: string) => number = () => 0;
  /** Whether gateway.redis_url answers (its URL without password), undefined without it; the server sets it (shared-limits.ts). */
  redisUp: () => { url: string; up: boolean } | undefined = () => undefined;
  readonly keyRequests: Counter<'key' | 'model' | 'status'>;
  readonly keyTokens: Counter<'key' | 'model' | 'kind'>;
  private readonly deploymentLabels = new WeakMap<ServedDeployment, LabelSet>();
  private readonly otherLabels = new Map<string, LabelSet>();
  private readonly table: GatewayOptions['table'];

  constructor(options: Pick<GatewayOptions, 'table' | 'gpus'>) {
    const registers = [this.registry];
    const { table, gpus } = options;
    this.table = table;
    const labelsOf = (d: ServedDeployment) => this.labelsFor(d).route;
    collectDefaultMetrics({ register: this.registry });

    this.requests = new Counter({ name: 'gateway_requests_total', help: 'Requests answered, by deployment and HTTP status (refusals included).', labelNames: [...ROUTE_LABELS, 'status'], registers });
    this.duration = new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time from request arrival to the end of the response (streams: to the last event).',
      labelNames: ROUTE_LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'gateway_time_to_first_token_seconds',
      help: 'Streams: time from request arrival to the first data event.',
      labelNames: ROUTE_LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.generatedTokens = new Counter({ name: 'gateway_generated_tokens_total', help: 'Tokens generated: x-generated-tokens of plain answers, token events of streams.', labelNames: ROUTE_LABELS, registers });
    this.rateLimited = new Counter({ name: 'gateway_rate_limited_total', help: 'Requests refused with 429, by reason (rate = per-client token bucket, concurrency = per-deployment cap).', labelNames: [...ROUTE_LABELS, 'reason'], registers });
    // Labelled by key name ("operator" for VALID_TOKEN): bounded by the number of keys, never by clients.
    this.keyRequests = new Counter({ name: 'gateway_key_requests_total', help: 'Requests per API key (key="operator" for VALID_TOKEN), by model and HTTP status (refusals included).', labelNames: ['key', 'model', 'status'], registers });
    this.keyTokens = new Counter({ name: 'gateway_key_tokens_total', help: 'Tokens per API key and model, kind="prompt" or "generated", as the deployments reported them (streams cut short: what was relayed).', labelNames: ['key', 'model', 'kind'], registers });
    this.queueWait = new Histogram({
      name: 'gateway_queue_wait_seconds',
      help: 'Time requests waited in their model\'s queue (every ready replica full) before getting a slot.',
      labelNames: ['model'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.queueRejected = new Counter({ name: 'gateway_queue_rejected_total', help: 'Requests refused with 429 by a model\'s queue: reason="full" (queue_max waiting already) or "timeout" (no slot within queue_timeout).', labelNames: ['model', 'reason'], registers });
    const queueLength = (model: string) => this.queueLength(model);
    new Gauge({
      name: 'gateway_queue_length',
      help: 'Requests waiting for a slot in each model\'s queue right now.',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const model of table.models()) this.set({ model }, queueLength(model));
      },
    });
    this.authFailures = new Counter({ name: 'gateway_auth_failures_total', help: 'Requests refused for a missing or wrong bearer token, or from a locked-out address.', registers });
    this.connectionsRefused = new Counter({ name: 'gateway_connections_refused_total', help: 'Connections answered 429 and closed on arrival: reason="per_client_cap" (the address held max_connections_per_client already).', labelNames: ['reason'], registers });
    this.requestsShed = new Counter({ name: 'gateway_requests_shed_total', help: 'Requests refused unread with 429 because their address kept ignoring Retry-After (early shedding); not in gateway_requests_total.', registers });
    const redisUp = () => this.redisUp();
    new Gauge({
      name: 'gateway_redis_up',
      help: '1 while the Redis of gateway.redis_url answers (limits shared by the fleet\'s gateways), 0 while it does not (limits per gateway); absent without redis_url.',
      labelNames: ['url'],
      registers,
      collect() {
        this.reset();
        const redis = redisUp();
        if (redis) this.set({ url: redis.url }, redis.up ? 1 : 0);
      },
    });

    new Gauge({
      name: 'gateway_requests_in_flight',
      help: 'Requests the gateway is relaying to each deployment right now.',
      labelNames: ROUTE_LABELS,
      registers,
      collect() {
        this.reset();
        for (const d of table.all()) this.set(labelsOf(d), d.inFlight);
      },
    });
    new Gauge({
      name: 'deployment_ready',
      help: '1 when the deployment is ready to serve, else 0.',
      labelNames: ROUTE_LABELS,
      registers,
      collect() {
        this.reset();
        for (const d of table.all()) this.set(labelsOf(d), d.isReady ? 1 : 0);
      },
    });
    new Counter({
      name: 'deployment_restarts_total',
      help: 'Times the deployment’s server exited unexpectedly.',
      labelNames: ROUTE_LABELS,
      registers,
      collect() {
        this.reset();
        for (const d of table.all()) this.inc(labelsOf(d), d.restarts);
      },
    });
    new Gauge({
      name: 'deployment_start_time_seconds',
      help: 'When the deployment’s server last started (Unix time), as its runtime records it; survives a restart of up.',
      labelNames: ROUTE_LABELS,
      registers,
      collect() {
        this.reset();
        for (const d of table.all()) if (d.startedAt !== undefined) this.set(labelsOf(d), d.startedAt / 1000);
      },
    });
    new Gauge({
      name: 'deployment_failed_attempts',
      help: 'Failed start attempts since the deployment was last ready (0 while healthy); it is retried with backoff.',
      labelNames: ROUTE_LABELS,
      registers,
      collect() {
        this.reset();
        for (const d of table.all()) this.set(labelsOf(d), d.attempts);
      },
    });
    const gpuGauge = (name: string, help: string, value: (gpu: ReturnType<typeof gpus>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['gpu'],
        registers,
        collect() {
          this.reset();
          for (const gpu of gpus()) this.set({ gpu: `gpu${gpu.index}` }, value(gpu));
        },
      });
    gpuGauge('gpu_memory_used_bytes', 'GPU memory in use (nvidia-smi).', (gpu) => gpu.memoryUsedMiB * MIB);
    gpuGauge('gpu_memory_total_bytes', 'GPU memory in total (nvidia-smi).', (gpu) => gpu.memoryTotalMiB * MIB);
    gpuGauge('gpu_utilization_ratio', 'GPU utilisation, 0 to 1 (nvidia-smi).', (gpu) => gpu.utilizationPercent / 100);
  }

  labelsFor(d: ServedDeployment): LabelSet {
    let labels = this.deploymentLabels.get(d);
    if (!labels) this.deploymentLabels.set(d, (labels = new LabelSet(d.spec.model, d.spec.gpuLabel, d.spec.engine ?? 'tgi')));
    return labels;
  }

  /** Labels for requests to a model that reached none of its replicas (none ready): gpu "", the model's engine. */
  labelsForModel(model: string): LabelSet {
    // Off the hot path (503s): the engine is looked up each time, so a reload that changes it is followed.
    const engine = this.table.replicas(model)[0]?.spec.engine ?? 'tgi';
    let labels = this.otherLabels.get(model);
    if (!labels || labels.route.engine !== engine) this.otherLabels.set(model, (labels = new LabelSet(model, '', engine)));
    return labels;
  }
}
