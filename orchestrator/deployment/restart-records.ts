import { join } from 'node:path';
import { JsonStateFile } from '../json-state-file.ts';

// What must survive a restart of `up` so `status` and the metrics tell the truth after adoption:
// each deployment's restart count, for the instance it counted them on. Kept in <stateDir>/deployments.json.

export interface RestartRecord {
  /** The instance (container id) the count belongs to: a new instance starts from 0. */
  instanceId: string;
  restarts: number;
  /** The runtime's own restart counter (Docker's RestartCount) when the record was written. */
  runtimeRestarts: number;
}

export class RestartRecords {
  private records: Record<string, RestartRecord>;
  private readonly stateFile?: JsonStateFile<Record<string, RestartRecord>>;

  constructor(file?: string) {
    this.stateFile = file ? new JsonStateFile(file) : undefined;
    this.records = this.stateFile?.read({}) ?? {};
  }

  static inStateDir(stateDir: string): RestartRecords {
    return new RestartRecords(join(stateDir, 'deployments.json'));
  }

  /**
   * The restart count of an instance being adopted: what was recorded for it plus the restarts its
   * runtime did while nobody watched; Docker's own count alone when there is no record for it.
   */
  restartsOf(key: string, instanceId: string, runtimeRestarts: number): number {
    const record = this.records[key];
    if (record?.instanceId !== instanceId) return runtimeRestarts;
    return record.restarts + Math.max(0, runtimeRestarts - record.runtimeRestarts);
  }

  set(key: string, record: RestartRecord): void {
    const old = this.records[key];
    if (old && old.instanceId === record.instanceId && old.restarts === record.restarts && old.runtimeRestarts === record.runtimeRestarts) return;
    this.records[key] = record;
    this.save();
  }

  forget(key: string, instanceId: string): void {
    if (this.records[key]?.instanceId !== instanceId) return;
    delete this.records[key];
    this.save();
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.stateFile?.flushed() ?? Promise.resolve();
  }

  private save(): void {
    this.stateFile?.write(this.records);
  }
}
