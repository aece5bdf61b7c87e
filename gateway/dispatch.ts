import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Accounting, Exchange } from './accounting.ts';
import { notReady, type Admission, type AdmissionRefused } from './admission.ts';
import { clientKey } from './auth.ts';
import { callerOf } from './callers.ts';
import type { LeastInFlight } from './balance.ts';
import { hasBody, readBody, readJsonBody, type JsonBody } from './body.ts';
import { GatewayError, sendError } from './errors.ts';
import { dialectOf } from './event-stream.ts';
import { GENERATE_ENDPOINTS, prepareGenerate } from './generate.ts';
import { infoAnswer } from './info-fields.ts';
import { KeyRefused, type KeyLimits } from './key-limits.ts';
import type { GatewayMetrics } from './metrics.ts';
import { CLIENT_CLOSED_REQUEST, type AnswerTranslation, type UpstreamProxy } from './proxy.ts';
import { queueFull, queuePushedOut, queueTimedOut, type SlotQueue } from './queue.ts';
import type { RouteMatch } from './route-index.ts';
import { needsServedModel, withServedModel } from './served-model.ts';
import { admitShared } from './shared-admission.ts';
import type { SharedLimits } from './shared-limits.ts';
import type { Caller, GatewayOptions, ServedDeployment } from './types.ts';

// One authenticated request for a deployment (a deployment route or a root OpenAI route): choose the
// replica, admit it (ready, concurrency, rate), read the body where the gateway must, and relay it.

export interface DispatchDeps {
  options: Pick<GatewayOptions, 'table' | 'settings' | 'log'>;
  admission: Admission;
  keyLimits: KeyLimits;
  queue: SlotQueue;
  accounting: Accounting;
  balancer: LeastInFlight;
  metrics: GatewayMetrics;
  proxy: UpstreamProxy;
  /** With gateway.redis_url: the limits shared with the fleet's other gateways. */
  sharedLimits?: SharedLimits;
}

export class Dispatcher {
  constructor(private readonly deps: DispatchDeps) {}

  /** `body`: when the caller had to read it already (root OpenAI routes route by its `model`). */
  async serve(req: IncomingMessage, res: ServerResponse, route: RouteMatch, body?: JsonBody): Promise<void> {
    const { admission, accounting } = this.deps;
    const startedAt = performance.now();
    const caller = callerOf(req);
    const client = clientKey(req);
    const shared = this.deps.sharedLimits?.active();
    const keyRefusal = shared ? this.deps.keyLimits.checkScope(caller, route.model) : this.deps.keyLimits.check(caller, route.model, startedAt);
    if (keyRefusal) return this.refuseForKey(res, route.model, caller, keyRefusal);
    let d = route.deployment ?? this.deps.balancer.pick(this.deps.options.table.replicas(route.model));
    if (!d) return this.noReadyReplica(res, route.model, caller);
    let rateChecked = false;
    if (shared) {
      const takeRate = d.isReady && (d.inFlight < d.spec.limits.maxConcurrentRequests || this.deps.queue.wouldWait(d));
      const verdict = await admitShared(shared, this.deps.keyLimits, admission, caller, route.model, d, client, takeRate, startedAt);
      if (verdict.refusal instanceof KeyRefused) return this.refuseForKey(res, route.model, caller, verdict.refusal);
      if (verdict.refusal) return this.refuse(res, d, verdict.refusal, caller);
      rateChecked = verdict.rateChecked;
    }

    let exchange: Exchange | undefined;
    if (this.deps.queue.wouldWait(d)) {
      exchange = await this.waitForSlot(res, route, d, caller, client, startedAt, rateChecked);
      if (!exchange) return;
      d = exchange.deployment; // the balanced route takes the first replica that frees a slot
    } else {
      const refusal = rateChecked ? admission.checkCapacity(d, client, startedAt) : admission.check(d, client, startedAt);
      if (refusal) return this.refuse(res, d, refusal, caller);
      // The deployment has the last word: it refuses when it is no longer ready (whatever check() saw).
      exchange = accounting.begin(d, startedAt, caller);
      if (!exchange) return this.refuse(res, d, notReady(d), caller);
    }

    const maxBodyBytes = this.deps.options.settings().maxBodyBytes;
    let upstreamPath = route.upstreamPath;
    let payload = body?.raw;
    let translate: AnswerTranslation | undefined;
    try {
      if (GENERATE_ENDPOINTS.has(route.endpoint)) {
        const call = prepareGenerate(d, route.endpoint, route.upstreamPath.slice(route.endpoint.length), body ?? (await readJsonBody(req, maxBodyBytes, d.spec.limits.requestTimeoutMs)));
        upstreamPath = call.path;
        payload = call.body;
        translate = call.translate;
      } else if (needsServedModel(d, route.endpoint)) {
        payload = withServedModel(d, body ?? (await readJsonBody(req, maxBodyBytes, d.spec.limits.requestTimeoutMs)));
      } else if (!payload && hasBody(req)) {
        payload = await readBody(req, maxBodyBytes, d.spec.limits.requestTimeoutMs);
      }
    } catch (error) {
      return this.refuseAdmitted(res, exchange, error);
    }
    if (res.destroyed) return accounting.end(exchange, CLIENT_CLOSED_REQUEST);
    const info = route.endpoint === '/info' && req.method === 'GET' ? infoAnswer(d) : undefined;
    if (info?.upstreamPath) upstreamPath = info.upstreamPath;
    this.deps.proxy.forward({ req, res, exchange, upstreamPath, dialect: dialectOf(route.endpoint), body: payload, rewriteJson: info?.rewrite, translate });
  }

  /**
   * Every ready replica the request may use is full: it waits in the model's queue (after its rate
   * check, as if admitted; `rateChecked`: Redis did it). Undefined when it got no slot; its answer has been sent then.
   */
  private async waitForSlot(res: ServerResponse, route: RouteMatch, d: ServedDeployment, caller: Caller, client: string, startedAt: number, rateChecked: boolean): Promise<Exchange | undefined> {
    const { admission, accounting, queue } = this.deps;
    const rateRefusal = rateChecked ? undefined : admission.checkRate(d, client, startedAt);
    if (rateRefusal) return void this.refuse(res, d, rateRefusal, caller);
    const waitingBefore = queue.length(route.model);
    // Turns go round API keys (whatever addresses a key sends from); the operator's token is one turn per client address.
    const turn = caller.operator ? client : `key\u0000${caller.name}`;
    const cap = caller.limits.maxConcurrent;
    const mayTakeNow = cap === undefined ? undefined : () => this.deps.keyLimits.inFlightOf(caller.name) < cap;
    const outcome = await queue.wait({ model: route.model, replica: route.deployment, client: turn, res, take: (replica) => accounting.begin(replica, startedAt, caller), mayTakeNow }, d);
    if (typeof outcome === 'object') return outcome;
    if (outcome === 'full') this.refuse(res, d, queueFull(route.model, waitingBefore), caller);
    else if (outcome === 'pushed_out') this.refuse(res, d, queuePushedOut(route.model), caller);
    else if (outcome === 'timeout') this.refuse(res, d, queueTimedOut(route.model, performance.now() - startedAt), caller);
    else if (outcome === 'left') accounting.refuse({ model: d.spec.model, deployment: d, labels: this.deps.metrics.labelsFor(d), status: CLIENT_CLOSED_REQUEST, refusedBy: 'queue_left', caller });
    else if (route.deployment) this.refuse(res, route.deployment, notReady(route.deployment), caller);
    else this.noReadyReplica(res, route.model, caller);
    return undefined;
  }

  /** A request the gateway answers itself instead of admitting it to `d` (not ready, limits). */
  private refuse(res: ServerResponse, d: ServedDeployment, refusal: AdmissionRefused, caller?: Caller): void {
    this.deps.accounting.refuse({ model: d.spec.model, deployment: d, labels: this.deps.metrics.labelsFor(d), status: refusal.status, refusedBy: refusal.reason, caller });
    sendError(res, refusal);
  }

  /** A request its API key does not allow (scope, token budget, the key's own rate or concurrency). */
  private refuseForKey(res: ServerResponse, model: string, caller: Caller, refusal: KeyRefused): void {
    this.deps.accounting.refuse({ model, status: refusal.status, refusedBy: refusal.reason, caller });
    sendError(res, refusal);
  }

  /** A request admitted to a deployment and then answered by the gateway itself (bad body). */
  private refuseAdmitted(res: ServerResponse, exchange: Exchange, error: unknown): void {
    let refusal: GatewayError;
    if (error instanceof GatewayError) refusal = error;
    else {
      this.deps.options.log.error({ err: error, deployment: exchange.deployment.key }, `gateway: unexpected error preparing a request for ${exchange.deployment.key}`);
      refusal = new GatewayError(500, 'the gateway failed on this request; the details are in its log');
    }
    exchange.refusedBy = 'bad_request';
    sendError(res, refusal);
    this.deps.accounting.end(exchange, res.destroyed ? CLIENT_CLOSED_REQUEST : refusal.status);
  }

  private noReadyReplica(res: ServerResponse, model: string, caller?: Caller): void {
    const replicas = this.deps.options.table.replicas(model);
    const states = replicas.map((r) => `${r.spec.gpuLabel} is ${r.state === 'loading' && r.phase ? `loading (${r.phase})` : r.state}`).join(', ');
    const retryAfter = replicas.some((r) => r.state !== 'failed') ? '5' : '30';
    const status = 503;
    this.deps.accounting.refuse({ model, labels: this.deps.metrics.labelsForModel(model), status, refusedBy: 'not_ready', caller });
    sendError(res, new GatewayError(status, `no replica of ${model} is ready (${states || 'it has none'}); retry after the Retry-After seconds`, { 'retry-after': retryAfter }));
  }
}
