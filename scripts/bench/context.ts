/** What every scenario gets from main.ts. */
export interface BenchContext {
  /** A temp folder for configs, scripts and state; removed at the end. */
  workDir: string;
  /** Seconds of load per wrk measurement. */
  loadSeconds: number;
  /** Measurements per configuration; the best one is kept (other work on the machine only slows a run down). */
  rounds: number;
  /** One line of progress on stderr. */
  progress(message: string): void;
}
