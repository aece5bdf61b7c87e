import type { EventEmitter } from 'node:events';
import type { GatewaySettings, GpuInfo } from '../orchestrator/config/types.ts';
import type { DeploymentTable } from '../orchestrator/deployment/table.ts';
import type { TokenStore } from '../orchestrator/token.ts';

/** Emitted on GatewayOptions.events as 'request' once a proxied request has finished (or was refused). */
export interface RequestRecord {
  /** Deployment key "<model>/<gpuLabel>", or undefined when no deployment was chosen (404). */
  key?: string;
  model: string;
  gpuLabel: string;
  status: number;
  durationMs: number;
  /** Streams only: time from request arrival to the first token event. */
  ttftMs?: number;
  generatedTokens: number;
  stream: boolean;
  /** Set when the gateway refused it: 'rate' | 'concurrency' | 'not_ready' | 'auth' … */
  refusedBy?: string;
  at: number;
}

/** Operator-visible happenings for the dashboard's event log (besides deployment state changes). */
export interface GatewayNotice {
  kind: 'reload' | 'rate_limited' | 'auth_lockout' | 'info' | 'error';
  message: string;
  at: number;
}

export interface GatewayOptions {
  table: DeploymentTable;
  /** Current settings; read per request so a hot reload of models.yaml takes effect at once. */
  settings: () => GatewaySettings;
  tokens: TokenStore;
  /** Latest GPU inventory (nvidia-smi polling); empty when there is none. */
  gpus: () => GpuInfo[];
  /** 'request' (RequestRecord) and 'notice' (GatewayNotice) are emitted here. */
  events: EventEmitter;
}
