import type { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Exchange } from './accounting.ts';
import { AdmissionRefused } from './admission.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { DeploymentDirectory, GatewayNotice, Logger, ServedDeployment, StateChange } from './types.ts';

// Requests that found every ready replica of their model full (the per-GPU route: that replica) wait
// here, up to queue_timeout, instead of getting 429 at once. A slot that frees up (Accounting.end →
// handOff) goes straight to the next waiter, before any new request can take it, so a release wakes
// one request, not all of them. Waiters are served round-robin across clients: each client with
// waiters takes one slot per turn, so a client's burst delays another client's requests by at most
// one slot per busy client. A queue holds at most queue_max requests per model (default 4 × the
// model's total max_concurrent_requests). A request that finds it full takes the place of the newest
// waiter of the client with the most waiters, when that is more than its own client has (that waiter
// gets 429): one client's burst cannot fill the queue and lock the others out. Otherwise 429 at once.
//
// While nothing waits, the hot path pays three field reads (wouldWait) and one counter (handOff),
// and allocates nothing.

/** How a wait ended when it did not end with a slot. */
export type QueueExit = 'full' | 'pushed_out' | 'timeout' | 'left' | 'not_ready';

/** What wait() needs of one request. */
export interface QueuedRequest {
  model: string;
  /** The replica the request named; undefined: any ready replica of the model. */
  replica?: ServedDeployment;
  /** Whose turn it is: the API key, or clientKey(req) for the operator's token. */
  client: string;
  res: ServerResponse;
  /** Admits the request to `d` (Accounting.begin); undefined when `d` refuses it. */
  take(d: ServedDeployment): Exchange | undefined;
  /**
   * False while the request may not take a slot yet: its API key is at its --max-concurrent (other
   * requests of the key were admitted while it waited). It keeps its place; absent: always may.
   */
  mayTakeNow?(): boolean;
}

/** Retry-After of a request that waited queue_timeout for nothing: the overload has lasted that long already. */
const TIMED_OUT_RETRY_AFTER_S = 5;
/** queue_max when not set: this many waiting requests per slot of the model. */
const DEFAULT_WAITING_PER_SLOT = 4;
/** A burst of queue refusals on one model is reported at most this often. */
const NOTICE_INTERVAL_MS = 10_000;

class Waiter {
  readonly enqueuedAt = performance.now();
  timer?: NodeJS.Timeout;
  private settled = false;
  private readonly onClose = () => this.queue.leave(this, 'left');

  constructor(
    readonly request: QueuedRequest,
    private readonly queue: ModelQueue,
    private readonly resolve: (outcome: Exchange | QueueExit) => void,
  ) {
    request.res.once('close', this.onClose);
  }

  mayUse(d: ServedDeployment): boolean {
    return this.request.replica === undefined || this.request.replica === d;
  }

  settle(outcome: Exchange | QueueExit): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.request.res.off('close', this.onClose);
    this.resolve(outcome);
  }
}

/** One model's waiters, by client; the Map's order is the round-robin order. */
class ModelQueue {
  readonly byClient = new Map<string, Waiter[]>();
  length = 0;
  readonly labels: { model: string };

  constructor(
    readonly model: string,
    private readonly owner: SlotQueue,
  ) {
    this.labels = { model };
  }

  add(waiter: Waiter): void {
    const client = waiter.request.client;
    const waiters = this.byClient.get(client);
    if (waiters) waiters.push(waiter);
    else this.byClient.set(client, [waiter]);
    this.length += 1;
    this.owner.waiting += 1;
  }

  /**
   * Takes the next waiter that may use `d`: the first one of the first client in turn that has one.
   * A client whose key is at its own concurrency cap is passed over (its waiters share the key).
   */
  next(d: ServedDeployment): Waiter | undefined {
    for (const [client, waiters] of this.byClient) {
      const at = waiters.findIndex((w) => w.mayUse(d));
      if (at < 0) continue;
      if (waiters[at].request.mayTakeNow?.() === false) {
        this.owner.keyCapped = true;
        continue;
      }
      const [waiter] = waiters.splice(at, 1);
      // Served clients go to the back of the line; a client with nothing left waiting leaves it.
      this.byClient.delete(client);
      if (waiters.length) this.byClient.set(client, waiters);
      this.removed();
      return waiter;
    }
    return undefined;
  }

  /** A waiter that leaves without a slot (timeout, client gone, no ready replica). */
  leave(waiter: Waiter, exit: QueueExit): void {
    const waiters = this.byClient.get(waiter.request.client);
    const at = waiters ? waiters.indexOf(waiter) : -1;
    if (at < 0) return;
    waiters!.splice(at, 1);
    if (waiters!.length === 0) this.byClient.delete(waiter.request.client);
    this.removed();
    if (exit === 'timeout') this.owner.rejected(this.model, 'timeout');
    if (exit === 'pushed_out') this.owner.rejected(this.model, 'full');
    waiter.settle(exit);
  }

  /**
   * Makes room for one waiter of `client` in a full queue: the newest waiter of the client with the
   * most waiters leaves (429), provided that is more than `client` has. False when `client` has the
   * most already: then the newcomer is the one refused.
   */
  pushOut(client: string): boolean {
    let longest: Waiter[] | undefined;
    for (const waiters of this.byClient.values()) if (!longest || waiters.length > longest.length) longest = waiters;
    const own = this.byClient.get(client)?.length ?? 0;
    if (!longest || longest.length <= own + 1) return false;
    this.leave(longest[longest.length - 1], 'pushed_out');
    return true;
  }

  /** Every waiter that matches `which`. */
  filter(which: (w: Waiter) => boolean): Waiter[] {
    return [...this.byClient.values()].flat().filter(which);
  }

  private removed(): void {
    this.length -= 1;
    this.owner.waiting -= 1;
    if (this.length === 0) this.owner.forget(this);
  }
}

export class SlotQueue {
  /** Requests waiting in every model's queue: handOff() returns at once while it is 0. */
  waiting = 0;
  /** A waiter was passed over because its key was at its cap: any request's end may let it go. */
  keyCapped = false;
  private readonly models = new Map<string, ModelQueue>();
  private readonly lastNotice = new Map<string, number>();
  private readonly onState = (change: StateChange) => this.stateChanged(change.key);
  private readonly onAdded = (d: ServedDeployment) => this.pump(d);
  private readonly onRemoved = (d: ServedDeployment) => this.replicaGone(d);

  constructor(
    private readonly table: DeploymentDirectory,
    readonly metrics: GatewayMetrics,
    private readonly events: EventEmitter,
    private readonly log: Logger,
  ) {
    table.on('state', this.onState);
    table.on('added', this.onAdded);
    table.on('removed', this.onRemoved);
    metrics.queueLength = (model) => this.models.get(model)?.length ?? 0;
  }

  dispose(): void {
    this.table.off('state', this.onState);
    this.table.off('added', this.onAdded);
    this.table.off('removed', this.onRemoved);
  }

  /** Whether a request for `d` waits in the queue rather than being admitted (or refused) now. */
  wouldWait(d: ServedDeployment): boolean {
    const limits = d.spec.limits;
    return limits.queueTimeoutMs > 0 && d.isReady && d.inFlight >= limits.maxConcurrentRequests;
  }

  length(model: string): number {
    return this.models.get(model)?.length ?? 0;
  }

  /** The most requests that may wait for `model`, as `d`'s limits (the model's) say. */
  capacity(model: string, d: ServedDeployment): number {
    const limits = d.spec.limits;
    if (limits.queueMax !== undefined) return limits.queueMax;
    let slots = 0;
    for (const replica of this.table.replicas(model)) slots += replica.spec.limits.maxConcurrentRequests;
    return DEFAULT_WAITING_PER_SLOT * slots;
  }

  /**
   * Waits for a slot on a replica the request may use, up to `d`'s queue_timeout. Resolves with the
   * admitted exchange, or with why it did not get one ('full' at once when the queue is).
   */
  wait(request: QueuedRequest, d: ServedDeployment): Promise<Exchange | QueueExit> {
    const { model } = request;
    if (this.length(model) >= this.capacity(model, d) && !this.models.get(model)?.pushOut(request.client)) {
      this.rejected(model, 'full');
      return Promise.resolve('full');
    }
    if (request.res.destroyed) return Promise.resolve('left');
    let queue = this.models.get(model);
    if (!queue) this.models.set(model, (queue = new ModelQueue(model, this)));
    const modelQueue = queue;
    return new Promise((resolve) => {
      const waiter = new Waiter(request, modelQueue, resolve);
      modelQueue.add(waiter);
      waiter.timer = setTimeout(() => modelQueue.leave(waiter, 'timeout'), d.spec.limits.queueTimeoutMs);
    });
  }

  /**
   * A slot of `d` was released: it goes to the next waiter that may use it, if any. When a waiter was
   * passed over for its key's cap, the request that ended may have been that key's: every model with
   * waiters gets its free slots offered again.
   */
  handOff(d: ServedDeployment): void {
    if (this.waiting === 0) return;
    this.pump(d);
    if (!this.keyCapped) return;
    this.keyCapped = false;
    for (const model of [...this.models.keys()]) for (const replica of this.table.replicas(model)) this.pump(replica);
  }

  /** Counts a 429 of the queue, and tells the operator about a burst of them (once per NOTICE_INTERVAL_MS). */
  rejected(model: string, reason: 'full' | 'timeout'): void {
    this.metrics.queueRejected.inc({ model, reason });
    const now = Date.now();
    const last = this.lastNotice.get(model);
    if (last !== undefined && now - last < NOTICE_INTERVAL_MS) return;
    this.lastNotice.set(model, now);
    const message = reason === 'full' ? `${model}: every ready replica is full and its queue holds queue_max requests; more get 429` : `${model}: requests waited queue_timeout in its queue without a free slot and got 429`;
    const notice: GatewayNotice = { kind: 'rate_limited', message, at: now };
    this.log.info({ model, reason }, message);
    this.events.emit('notice', notice);
  }

  forget(queue: ModelQueue): void {
    if (this.models.get(queue.model) === queue) this.models.delete(queue.model);
  }

  /** Gives `d`'s free slots to waiters, in turn, while it has some and they may use it. */
  private pump(d: ServedDeployment): void {
    const queue = this.models.get(d.spec.model);
    if (!queue) return;
    while (d.isReady && d.inFlight < d.spec.limits.maxConcurrentRequests) {
      const waiter = queue.next(d);
      if (!waiter) return;
      this.metrics.queueWait.observe(queue.labels, (performance.now() - waiter.enqueuedAt) / 1000);
      const exchange = waiter.request.take(d);
      waiter.settle(exchange ?? 'not_ready');
    }
  }

  private stateChanged(key: string): void {
    const d = this.table.get(key);
    if (!d) return;
    if (d.isReady) this.pump(d);
    else this.replicaGone(d);
  }

  /**
   * `d` stopped being ready (or was removed): its own waiters get 503; the model's other waiters keep
   * waiting while another replica is ready (they get its next free slot), else they get 503 as well.
   */
  private replicaGone(d: ServedDeployment): void {
    const queue = this.models.get(d.spec.model);
    if (!queue) return;
    const others = this.table.replicas(d.spec.model).filter((r) => r !== d && r.isReady);
    for (const waiter of queue.filter((w) => w.request.replica === d || (others.length === 0 && w.request.replica === undefined))) queue.leave(waiter, 'not_ready');
    for (const other of others) this.pump(other);
  }
}

/** The 429 for a request that found its model's queue full. */
export function queueFull(model: string, waiting: number): AdmissionRefused {
  return new AdmissionRefused('queue_full', 429, `every ready replica of ${model} is at its max_concurrent_requests and ${waiting} requests already wait for a slot, its queue_max; retry after the Retry-After seconds, or raise max_concurrent_requests or queue_max in models.yaml`, {
    'retry-after': '1',
  });
}

/** The 429 for a waiter that gave its place in a full queue to a client with fewer requests waiting. */
export function queuePushedOut(model: string): AdmissionRefused {
  return new AdmissionRefused('queue_full', 429, `the queue of ${model} is full (queue_max) and your client had the most requests waiting in it: your newest one gave its place to a client with fewer; retry after the Retry-After seconds, and send fewer requests at once`, {
    'retry-after': '1',
  });
}

/** The 429 for a request that waited queue_timeout without getting a slot. */
export function queueTimedOut(model: string, waitedMs: number): AdmissionRefused {
  const seconds = Math.round(waitedMs / 100) / 10;
  return new AdmissionRefused('queue_timeout', 429, `waited ${seconds} s in the queue of ${model} (queue_timeout) without a replica freeing a slot; retry after the Retry-After seconds, or raise max_concurrent_requests or queue_timeout in models.yaml`, {
    'retry-after': String(TIMED_OUT_RETRY_AFTER_S),
  });
}
