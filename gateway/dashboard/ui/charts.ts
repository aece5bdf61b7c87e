// Line charts of the last 15 minutes on <canvas>, one line per deployment. No library: a few axes,
// grid lines and polylines are all a dashboard needs.

export interface Line {
  color: string;
  values: (number | null)[];
}

export interface ChartSpec {
  title: string;
  /** Formats a y-axis value, e.g. "12 ms". */
  format: (v: number) => string;
  lines: Line[];
  /** Start of the first value and the time each value covers (ms). */
  start: number;
  stepMs: number;
}

const PAD = { left: 56, right: 10, top: 28, bottom: 22 };
const MAX_GRID_LINES = 4;

/** A y axis with round steps (1, 2, 2.5 or 5 × 10^n) and at most MAX_GRID_LINES lines above zero. */
function yAxis(maxValue: number): { step: number; lines: number } {
  if (maxValue <= 0) return { step: 1, lines: MAX_GRID_LINES };
  const rough = maxValue / MAX_GRID_LINES;
  const exp = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * exp).find((s) => s >= rough)!;
  return { step, lines: Math.max(1, Math.ceil(maxValue / step - 1e-9)) };
}

const style = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export function drawChart(canvas: HTMLCanvasElement, spec: ChartSpec): void {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const ink = style('--ink') || '#111';
  const muted = style('--muted') || '#666';
  const grid = style('--grid') || '#eee';
  ctx.font = `600 12px ${style('--font') || 'sans-serif'}`;
  ctx.fillStyle = ink;
  ctx.textBaseline = 'top';
  ctx.fillText(spec.title, 2, 4);

  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const count = Math.max(1, ...spec.lines.map((l) => l.values.length));
  const axis = yAxis(Math.max(0, ...spec.lines.flatMap((l) => l.values.filter((v): v is number => v !== null))));
  const max = axis.step * axis.lines;
  const x = (i: number) => PAD.left + (count === 1 ? plotW : (i / (count - 1)) * plotW);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;

  ctx.font = `11px ${style('--font') || 'sans-serif'}`;
  ctx.lineWidth = 1;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let g = 0; g <= axis.lines; g++) {
    const v = axis.step * g;
    const gy = Math.round(y(v)) + 0.5;
    ctx.strokeStyle = grid;
    ctx.beginPath();
    ctx.moveTo(PAD.left, gy);
    ctx.lineTo(PAD.left + plotW, gy);
    ctx.stroke();
    ctx.fillStyle = muted;
    ctx.fillText(v === 0 ? '0' : spec.format(v), PAD.left - 6, gy);
  }
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  const spanMin = (count * spec.stepMs) / 60_000;
  for (const minutesAgo of [15, 10, 5, 0].filter((m) => m <= spanMin)) {
    const i = count - 1 - (minutesAgo * 60_000) / spec.stepMs;
    ctx.fillText(minutesAgo === 0 ? 'now' : `−${minutesAgo}m`, Math.min(Math.max(x(i), PAD.left + 12), PAD.left + plotW - 12), PAD.top + plotH + 6);
  }

  if (!spec.lines.some((l) => l.values.some((v) => v !== null && v > 0))) {
    ctx.fillStyle = muted;
    ctx.textBaseline = 'middle';
    ctx.fillText('no traffic in this window', PAD.left + plotW / 2, PAD.top + plotH / 2);
  }

  ctx.lineWidth = 1.75;
  ctx.lineJoin = 'round';
  for (const line of spec.lines) {
    ctx.strokeStyle = ctx.fillStyle = line.color;
    ctx.beginPath();
    line.values.forEach((v, i) => {
      if (v === null) return;
      const joined = i > 0 && line.values[i - 1] !== null;
      if (joined) ctx.lineTo(x(i), y(v));
      else ctx.moveTo(x(i), y(v));
    });
    ctx.stroke();
    // A value with no neighbour draws no segment: mark it with a dot (sparse latency samples).
    line.values.forEach((v, i) => {
      if (v === null || line.values[i - 1] != null || line.values[i + 1] != null) return;
      ctx.beginPath();
      ctx.arc(x(i), y(v), 2, 0, 2 * Math.PI);
      ctx.fill();
    });
  }
}
