import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file?: string) {
    this.records = file ? readRecords(file) : {};
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
    return this.writing;
  }

  private save(): void {
    const file = this.file;
    if (!file) return;
    const text = JSON.stringify(this.records, null, 2) + '\n';
    this.writing = this.writing.then(async () => {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    }).catch(() => undefined);
  }
}

function readRecords(file: string): Record<string, RestartRecord> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, RestartRecord>;
  } catch {
    return {};
  }
}
