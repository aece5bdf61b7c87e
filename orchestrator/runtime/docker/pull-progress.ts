import type cliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import { log } from '../../log.ts';

/** One line of the Engine API's pull progress stream. */
export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

/** Bytes downloaded and to download, summed over the layers of one image pull. */
export class PullProgress {
  private readonly layers = new Map<string, { current: number; total: number }>();

  update(event: PullEvent): void {
    if (!event.id) return;
    const total = event.progressDetail?.total;
    if (event.status === 'Downloading' && total) {
      this.layers.set(event.id, { current: event.progressDetail?.current ?? 0, total });
      return;
    }
    const layer = this.layers.get(event.id);
    if (layer && (event.status === 'Download complete' || event.status === 'Pull complete')) layer.current = layer.total;
  }

  get doneBytes(): number {
    return [...this.layers.values()].reduce((sum, layer) => sum + layer.current, 0);
  }

  /** Grows while the pull goes on: a layer's size is known once its download starts. */
  get totalBytes(): number {
    return [...this.layers.values()].reduce((sum, layer) => sum + layer.total, 0);
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function describe(progress: PullProgress): string {
  const { doneBytes, totalBytes } = progress;
  const percent = totalBytes ? ` (${Math.floor((doneBytes / totalBytes) * 100)}%)` : '';
  return `${formatBytes(doneBytes)} / ${formatBytes(totalBytes)}${percent}`;
}

export interface PullReporter {
  update(event: PullEvent): void;
  finish(error?: Error): void;
}

const LOG_INTERVAL_MS = 5000;
// All pulls running at once share one set of bars on the terminal.
let bars: cliProgress.MultiBar | undefined;
let activeBars = 0;

/** Shows one image pull: a live bar on a terminal (stderr), a log line every 5 s otherwise. */
export function reportPull(image: string): PullReporter {
  const progress = new PullProgress();
  const startedAt = Date.now();
  log.info(`pulling image ${image}…`);

  let bar: cliProgress.SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (process.stderr.isTTY) {
    // Loaded only here: a pull on a terminal is the one thing that draws bars.
    const { MultiBar, Presets } = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
    bars ??= new MultiBar({ format: 'pulling {image} [{bar}] {bytes}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
    bar = bars.create(1, 0, { image, bytes: '' });
    activeBars++;
  } else {
    timer = setInterval(() => log.info(`pulling image ${image}: ${describe(progress)}`), LOG_INTERVAL_MS);
    timer.unref();
  }

  return {
    update(event) {
      progress.update(event);
      if (bar) {
        bar.setTotal(Math.max(progress.totalBytes, 1));
        bar.update(progress.doneBytes, { bytes: describe(progress) });
      }
    },
    finish(error) {
      clearInterval(timer);
      if (bar && bars) {
        bars.remove(bar);
        if (--activeBars === 0) {
          bars.stop();
          bars = undefined;
        }
      }
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      if (error) log.error(`pulling image ${image} failed after ${seconds}s: ${error.message}`);
      else log.info(`pulled image ${image} (${formatBytes(progress.totalBytes)}) in ${seconds}s`);
    },
  };
}
