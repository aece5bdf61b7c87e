// The engine's batch: at most maxRunning requests generate at once (vLLM --max-num-seqs, SGLang
// --max-running-requests); the others wait in arrival order. Its counts are the running/waiting gauges.
export class Scheduler {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxRunning: number) {}

  get runningCount(): number {
    return this.running;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Resolves once the request may run; rejects if the signal aborts while it waits. */
  async admit(signal: AbortSignal): Promise<void> {
    if (this.running < this.maxRunning) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const start = () => {
        signal.removeEventListener('abort', cancel);
        this.running++;
        resolve();
      };
      const cancel = () => {
        const at = this.waiting.indexOf(start);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      this.waiting.push(start);
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}
