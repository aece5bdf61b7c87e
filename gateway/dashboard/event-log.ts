import type { EventEmitter } from 'node:events';
import type { DeploymentDirectory, GatewayNotice, ServedDeployment, StateChange } from '../types.ts';

// What an operator wants to read back after the fact: deployments coming and going, state changes
// (crashes and restarts included), reloads and rate-limit bursts. A ring of the latest entries.

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogEntry {
  /** Increasing; the page asks for entries after the last id it has. */
  id: number;
  at: number;
  level: LogLevel;
  kind: 'state' | 'added' | 'removed' | GatewayNotice['kind'];
  /** Deployment key, when the entry is about one. */
  key?: string;
  message: string;
}

const STATE_LEVEL: Partial<Record<string, LogLevel>> = { down: 'warn', failed: 'error' };
const NOTICE_LEVEL: Partial<Record<GatewayNotice['kind'], LogLevel>> = { rate_limited: 'warn', auth_lockout: 'warn', error: 'error' };

export class EventLog {
  private entries: LogEntry[] = [];
  private nextId = 1;

  constructor(private readonly capacity = 500) {}

  push(entry: Omit<LogEntry, 'id'>): void {
    this.entries.push({ id: this.nextId++, ...entry });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** Entries with an id above `afterId`, oldest first. */
  after(afterId: number): LogEntry[] {
    return this.entries.filter((e) => e.id > afterId);
  }
}

/** Fills the log from the table's and the gateway's events; returns a function that stops listening. */
export function recordFleetEvents(eventLog: EventLog, table: DeploymentDirectory, events: EventEmitter): () => void {
  const onState = (c: StateChange) => {
    const restarts = c.to === 'down' ? table.get(c.key)?.restarts : undefined;
    const why = [c.detail, restarts ? `restarts so far: ${restarts}` : undefined].filter(Boolean).join('; ');
    eventLog.push({ at: c.at, level: STATE_LEVEL[c.to] ?? 'info', kind: 'state', key: c.key, message: `${c.from} → ${c.to}${why ? ` (${why})` : ''}` });
  };
  const onAdded = (d: ServedDeployment) =>
    eventLog.push({ at: Date.now(), level: 'info', kind: 'added', key: d.key, message: `added: ${d.spec.modelId} on GPU ${d.spec.gpus.join(', ')}` });
  const onRemoved = (d: ServedDeployment) => eventLog.push({ at: Date.now(), level: 'info', kind: 'removed', key: d.key, message: 'removed' });
  const onNotice = (n: GatewayNotice) => eventLog.push({ at: n.at, level: NOTICE_LEVEL[n.kind] ?? 'info', kind: n.kind, message: n.message });

  table.on('state', onState);
  table.on('added', onAdded);
  table.on('removed', onRemoved);
  events.on('notice', onNotice);
  return () => {
    table.off('state', onState);
    table.off('added', onAdded);
    table.off('removed', onRemoved);
    events.off('notice', onNotice);
  };
}
