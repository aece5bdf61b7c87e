import './styles.css';
import type { LogEntry } from '../event-log.ts';
import type { Overview } from '../overview.ts';
import type { SeriesSnapshot, StatsSeries } from '../stats.ts';
import { AuthError, getJson, session } from './api.ts';
import { drawChart, type ChartSpec } from './charts.ts';
import { renderDeployments } from './deployments.ts';
import { byId, h } from './dom.ts';
import { prependEvents } from './event-log.ts';
import { rate } from './format.ts';
import { renderGpus } from './gpus.ts';
import { renderKeyUsage } from './keys.ts';
import { Playground } from './playground.ts';

// Wiring: sign-in, then polling the gateway's /api (overview and event log every 2 s, charts every 5 s).

const OVERVIEW_EVERY_MS = 2_000;
const SERIES_EVERY_MS = 5_000;
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#db2777', '#65a30d'];

const signIn = byId('sign-in');
const signInForm = byId<HTMLFormElement>('sign-in-form');
const tokenInput = byId<HTMLInputElement>('token-input');
const signInError = byId('sign-in-error');
const app = byId('app');
const signOut = byId<HTMLButtonElement>('sign-out');
const connection = byId('connection');
const fleetSummary = byId('fleet-summary');
const eventList = byId<HTMLOListElement>('event-log');

let timers: number[] = [];
let lastEventId = 0;
let lastSeries: SeriesSnapshot | undefined;
let deploymentKeys: string[] = [];

const token = () => session.token() ?? '';
const playground = new Playground(token, (err) => leave(refusalMessage(err)));

function refusalMessage(err: AuthError): string {
  return err.status === 403
    ? `The gateway locked this address out after repeated wrong tokens (${err.message}). Wait, then sign in with the right token.`
    : `The gateway refused this token — ${err.message}`; // the gateway's message says how to print the right one
}

function showSignIn(message = ''): void {
  app.hidden = true;
  signOut.hidden = true;
  fleetSummary.replaceChildren();
  connection.textContent = '';
  signIn.hidden = false;
  signInError.textContent = message;
  tokenInput.focus();
}

function leave(message = ''): void {
  for (const t of timers) clearInterval(t);
  timers = [];
  session.clear();
  showSignIn(message);
}

function setConnection(ok: boolean, message = ''): void {
  connection.textContent = ok ? '' : message;
  connection.hidden = ok;
}

function renderSummary(o: Overview): void {
  const ready = o.deployments.filter((d) => d.state === 'ready').length;
  const total = o.deployments.length;
  fleetSummary.replaceChildren(
    h('span', { class: `pill ${ready === total ? 'ok' : 'warn'}` }, `${ready}/${total} ready`),
    h('span', { class: 'pill' }, `${rate(o.deployments.reduce((s, d) => s + d.lastMinute.requestsPerSecond, 0))} req/s`),
    h('span', { class: 'pill' }, `${o.gpus.length} GPU${o.gpus.length === 1 ? '' : 's'}`),
  );
}

function showOverview(o: Overview): void {
  renderSummary(o);
  renderDeployments(byId<HTMLTableSectionElement>('deployments-body'), o.deployments, o.now);
  renderGpus(byId('gpus'), o.gpus, o.gpuTelemetry);
  renderKeyUsage(byId<HTMLTableSectionElement>('key-usage-body'), o.keys ?? []);
  byId('gpu-note').hidden = o.gpuTelemetry;
  playground.setDeployments(o.deployments);
  const keys = o.deployments.map((d) => d.key);
  if (keys.join() !== deploymentKeys.join()) {
    deploymentKeys = keys;
    renderLegend();
  }
}

function renderLegend(): void {
  byId('chart-legend').replaceChildren(
    ...deploymentKeys.map((k, i) => {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = COLORS[i % COLORS.length];
      return h('span', { class: 'legend-item' }, swatch, `/${k}`);
    }),
  );
}

const CHARTS: { id: string; title: string; pick: (s: StatsSeries) => (number | null)[]; format: (v: number) => string }[] = [
  { id: 'chart-requests', title: 'Requests / s', pick: (s) => s.requestsPerSecond, format: rate },
  { id: 'chart-latency', title: 'Latency p95', pick: (s) => s.p95Ms, format: (v) => (v < 1000 ? `${Math.round(v)}ms` : `${+(v / 1000).toFixed(2)}s`) },
  { id: 'chart-tokens', title: 'Generated tokens / s', pick: (s) => s.tokensPerSecond, format: rate },
  { id: 'chart-errors', title: 'Errors (5xx) / s', pick: (s) => s.errorsPerSecond, format: rate },
];

function drawCharts(): void {
  const snapshot = lastSeries;
  if (!snapshot) return;
  for (const chart of CHARTS) {
    const spec: ChartSpec = {
      title: chart.title,
      format: chart.format,
      start: snapshot.start,
      stepMs: snapshot.bucketMs,
      lines: deploymentKeys.filter((k) => snapshot.byKey[k]).map((k) => ({ color: COLORS[deploymentKeys.indexOf(k) % COLORS.length], values: chart.pick(snapshot.byKey[k]) })),
    };
    drawChart(byId<HTMLCanvasElement>(chart.id), spec);
  }
}

async function poll<T>(path: string, use: (value: T) => void): Promise<boolean> {
  try {
    use(await getJson<T>(path, token()));
    setConnection(true);
    return true;
  } catch (err) {
    if (err instanceof AuthError) leave(refusalMessage(err));
    else setConnection(false, `Cannot reach the gateway (${(err as Error).message}); retrying…`);
    return false;
  }
}

const refreshOverview = () => poll<Overview>('api/overview', showOverview);
const refreshEvents = () =>
  poll<{ entries: LogEntry[] }>(`api/events?after=${lastEventId}`, ({ entries }) => {
    if (entries.length) lastEventId = entries[entries.length - 1].id;
    prependEvents(eventList, entries);
  });
const refreshSeries = () =>
  poll<SeriesSnapshot>('api/series', (s) => {
    lastSeries = s;
    drawCharts();
  });

async function enter(candidate: string): Promise<void> {
  try {
    const first = await getJson<Overview>('api/overview', candidate);
    session.save(candidate);
    signIn.hidden = true;
    app.hidden = false;
    signOut.hidden = false;
    showOverview(first);
    lastEventId = 0;
    eventList.replaceChildren();
    await Promise.all([refreshEvents(), refreshSeries()]);
    const every = (ms: number, f: () => unknown) => timers.push(window.setInterval(() => { if (!document.hidden) f(); }, ms));
    every(OVERVIEW_EVERY_MS, () => Promise.all([refreshOverview(), refreshEvents()]));
    every(SERIES_EVERY_MS, refreshSeries);
  } catch (err) {
    if (err instanceof AuthError) leave(refusalMessage(err));
    else leave(`Cannot reach the gateway: ${(err as Error).message}`);
  }
}

signInForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const candidate = tokenInput.value.trim();
  if (!candidate) return showSignIn('Enter the token.');
  tokenInput.value = '';
  signInError.textContent = 'Checking…';
  void enter(candidate);
});
signOut.addEventListener('click', () => leave());
window.addEventListener('resize', drawCharts);

const saved = session.token();
if (saved) void enter(saved);
else showSignIn();
