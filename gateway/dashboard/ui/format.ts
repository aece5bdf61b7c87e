// Number and time formatting for the page. "—" stands for "no data".

export const NONE = '—';

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function millis(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return NONE;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function rate(v: number): string {
  if (v === 0) return '0';
  if (v < 1) return v.toFixed(2);
  if (v < 10) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

export function gib(mib: number): string {
  return (mib / 1024).toFixed(1);
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString('en-GB', { hour12: false });
}
