import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { GpuInfo } from './config/types.ts';

// The host's GPU inventory from nvidia-smi: for validating models.yaml (GPUs exist, `gpus: auto`)
// and, polled, for metrics and the dashboard.

const NVIDIA_SMI_ARGS = ['--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits'];
const TIMEOUT_MS = 10_000;

/** nvidia-smi's CSV (fields in NVIDIA_SMI_ARGS order) → GpuInfo; `[N/A]` reads as 0, unreadable lines are skipped. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  const number = (field: string | undefined) => {
    const value = Number.parseFloat(field ?? '');
    return Number.isFinite(value) ? value : 0;
  };
  return csv.split(/\r?\n/).flatMap((line) => {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 6 || !/^\d+$/.test(fields[0])) return [];
    // A GPU name could hold a comma: everything between the uuid and the last three fields is the name.
    const [index, uuid] = fields;
    const [total, used, utilization] = fields.slice(-3);
    return [{ index: Number(index), uuid, name: fields.slice(2, -3).join(', '), memoryTotalMiB: number(total), memoryUsedMiB: number(used), utilizationPercent: number(utilization) }];
  });
}

/** Runs nvidia-smi (found on `env.PATH`, default process.env). */
export function readGpus(options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ gpus: GpuInfo[] } | { error: string }> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: TIMEOUT_MS, env: options.env ?? process.env }, (error, stdout, stderr) => {
      if (!error) return resolve({ gpus: parseNvidiaSmi(stdout) });
      const failure = error as NodeJS.ErrnoException & { killed?: boolean };
      if (failure.code === 'ENOENT') {
        return resolve({ error: 'nvidia-smi not found: install the NVIDIA driver on this host, or run models with `runtime: simulator` (e.g. `npm run demo`)' });
      }
      if (failure.killed) return resolve({ error: `nvidia-smi did not answer within ${TIMEOUT_MS / 1000} s` });
      const said = `${stderr}\n${stdout}`.trim().split('\n')[0] || failure.message;
      resolve({ error: `nvidia-smi failed: ${said}` });
    });
  });
}

/** Reads the inventory every intervalMs; emits 'update' (GpuInfo[]) after each successful read. */
export class GpuPoller extends EventEmitter<{ update: [GpuInfo[]] }> {
  private gpus: GpuInfo[] = [];
  private failure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly options: { env?: NodeJS.ProcessEnv } = {}) {
    super();
  }

  /** Reads at once, then every intervalMs (a read still running when the next is due is not doubled). */
  start(intervalMs: number): void {
    this.stop();
    void this.poll();
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last inventory read successfully ([] before the first). */
  latest(): GpuInfo[] {
    return this.gpus;
  }

  /** Why the last read failed, if it did. */
  lastError(): string | undefined {
    return this.failure;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const result = await readGpus(this.options);
      if (!this.timer) return; // stopped meanwhile
      if ('error' in result) {
        this.failure = result.error;
        return;
      }
      this.failure = undefined;
      this.gpus = result.gpus;
      this.emit('update', result.gpus);
    } finally {
      this.polling = false;
    }
  }
}
