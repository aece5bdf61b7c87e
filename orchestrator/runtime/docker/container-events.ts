import type Dockerode from 'dockerode';
import { log } from '../../log.ts';
import { dockerMessage } from './client.ts';

export type ContainerAction = 'create' | 'start' | 'die' | 'oom' | 'destroy';

export interface ContainerEvent {
  /** Container id. */
  id: string;
  action: ContainerAction;
  /** For die. */
  exitCode?: number;
  /** UNIX seconds with nanoseconds, as the logs API's `since` takes it. */
  time: string;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

const ACTIONS: readonly ContainerAction[] = ['create', 'start', 'die', 'oom', 'destroy'];
const RECONNECT_DELAYS_MS = [250, 1000, 2000, 5000];

export interface ContainerEventHandlers {
  onEvent(event: ContainerEvent): void;
  /** The stream dropped (the engine may be gone); reconnecting with backoff has begun. */
  onDropped?(reason: string): void;
  /** The stream is open again after a drop. */
  onConnected?(): void;
}

/**
 * One Docker events stream (create/start/die/oom/destroy of the containers matching the label
 * filters), shared by every deployment. When the stream drops it reconnects with backoff from the
 * last event seen, so no exit is missed while the engine keeps running.
 */
export class ContainerEvents {
  private stream?: NodeJS.ReadableStream;
  private connecting?: Promise<void>;
  private closed = false;
  private failures = 0;
  /** The stream dropped since it was last open. */
  private dropped = false;
  /** timeNano of the last event delivered; reconnects ask for events from here on. */
  private lastTimeNano?: bigint;
  /** The events delivered at lastTimeNano, which a reconnect's `since` sends again. */
  private deliveredAtLast = new Set<string>();

  constructor(
    private readonly docker: Dockerode,
    private readonly labelFilters: string[],
    private readonly handlers: ContainerEventHandlers,
  ) {}

  /** Opens the stream if it is not open; resolves once the daemon has accepted the subscription. */
  connect(): Promise<void> {
    if (this.stream) return Promise.resolve();
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  close(): void {
    this.closed = true;
    const stream = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    this.stream = undefined;
    stream?.destroy?.();
  }

  private async open(): Promise<void> {
    const filters = { type: ['container'], event: [...ACTIONS], label: this.labelFilters };
    const since = this.lastTimeNano === undefined ? undefined : nanosToSeconds(this.lastTimeNano);
    const stream = await this.docker.getEvents({ filters, ...(since ? { since } : {}) } as Dockerode.GetEventsOptions);
    if (this.closed) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return;
    }
    this.stream = stream;
    const reconnected = this.dropped;
    this.failures = 0;
    this.dropped = false;
    if (reconnected) this.handlers.onConnected?.();
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.deliver(line);
    });
    const dropped = (reason: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.closed) return;
      this.dropped = true;
      this.handlers.onDropped?.(reason);
      this.reconnect(reason);
    };
    stream.on('error', (error: Error) => dropped(error.message));
    stream.on('end', () => dropped('stream ended'));
    stream.on('close', () => dropped('stream closed'));
  }

  private deliver(line: string): void {
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      return;
    }
    const action = raw.Action as ContainerAction;
    const id = raw.Actor?.ID;
    if (raw.Type !== 'container' || !id || !ACTIONS.includes(action)) return;
    const timeNano = BigInt(raw.timeNano ?? (raw.time ?? 0) * 1e9);
    const key = `${id} ${action}`;
    if (this.lastTimeNano !== undefined && (timeNano < this.lastTimeNano || (timeNano === this.lastTimeNano && this.deliveredAtLast.has(key)))) return;
    if (timeNano !== this.lastTimeNano) this.deliveredAtLast = new Set();
    this.lastTimeNano = timeNano;
    this.deliveredAtLast.add(key);
    const exitCode = raw.Actor?.Attributes?.exitCode;
    this.handlers.onEvent({ id, action, exitCode: exitCode === undefined ? undefined : Number(exitCode), time: nanosToSeconds(timeNano) });
  }

  private reconnect(reason: string): void {
    const delay = RECONNECT_DELAYS_MS[Math.min(this.failures, RECONNECT_DELAYS_MS.length - 1)];
    // One warning per outage; the retries every few seconds after it are debug lines.
    (this.failures++ === 0 ? log.warn : log.debug).call(log, `Docker events stream dropped (${reason}); reconnecting in ${delay} ms`);
    setTimeout(() => {
      if (this.closed || this.stream) return;
      this.connect().catch((error) => {
        log.debug(`Docker events: reconnect failed: ${dockerMessage(error)}`);
        this.reconnect('reconnect failed');
      });
    }, delay).unref();
  }
}

function nanosToSeconds(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n;
  const rest = nanos % 1_000_000_000n;
  return `${seconds}.${rest.toString().padStart(9, '0')}`;
}
