import type { DeploymentView } from '../overview.ts';
import { h } from './dom.ts';
import { duration, millis, NONE, rate } from './format.ts';

// The deployments table: one row per replica, rebuilt on every refresh (a handful of rows).

const ENGINE_NAMES: Record<DeploymentView['engine'], string> = { tgi: 'TGI', vllm: 'vLLM', sglang: 'SGLang' };

/** "3 failed attempts · retry in 40s": the failed starts since it was last ready and, when one is scheduled, the next retry. */
function retryText(d: DeploymentView, now: number): string | undefined {
  const attempt = d.attempts > 0 ? `${d.attempts} failed attempt${d.attempts === 1 ? '' : 's'}` : undefined;
  const retry = d.nextRetryAt === undefined ? undefined : d.nextRetryAt > now ? `retry in ${duration(d.nextRetryAt - now)}` : 'retrying now';
  return [attempt, retry].filter(Boolean).join(' · ') || undefined;
}

function stateCell(d: DeploymentView, now: number): HTMLTableCellElement {
  const inState = duration(now - d.since);
  const badge = h('span', { class: `badge state-${d.state}` }, d.state);
  const detail = d.state === 'ready' ? null : h('span', { class: 'state-detail' }, [d.phase, `for ${inState}`, retryText(d, now)].filter(Boolean).join(' · '));
  const failure = d.failure && (d.state === 'failed' || d.state === 'down')
    ? h('div', { class: 'failure', title: d.failure.message }, d.failure.diagnosis ?? d.failure.message)
    : null;
  return h('td', { class: 'state' }, badge, detail, failure);
}

function row(d: DeploymentView, now: number): HTMLTableRowElement {
  const s = d.lastMinute;
  const num = (col: string, text: string, cls = '', title?: string) => h('td', { class: `num ${cls}`.trim(), data: { col }, title }, text);
  return h(
    'tr',
    { data: { key: d.key, state: d.state } },
    h('td', {}, h('code', { class: 'route' }, `/${d.key}`), d.vision ? h('span', { class: 'chip', title: 'accepts images' }, 'vision') : null),
    h('td', { class: 'model-id', title: `${d.modelId} (runtime: ${d.runtime})` }, d.modelId),
    h('td', { data: { col: 'engine' } }, h('span', { class: `engine engine-${d.engine}` }, ENGINE_NAMES[d.engine])),
    h('td', {}, d.gpus.join(', ')),
    stateCell(d, now),
    num('uptime', d.state === 'ready' ? duration(now - (d.startedAt ?? d.since)) : NONE),
    num('restarts', String(d.restarts), d.restarts > 0 ? 'warn' : ''),
    num('requests-per-second', rate(s.requestsPerSecond)),
    num('p50', millis(s.p50Ms)),
    num('p95', millis(s.p95Ms)),
    num('ttft-p50', millis(s.ttftP50Ms), '', `time to first token p95: ${millis(s.ttftP95Ms)}`),
    num('tokens-per-second', rate(s.tokensPerSecond)),
    num('in-flight', String(d.inFlight)),
    num('errors', String(d.errors15m), d.errors15m > 0 ? 'bad' : ''),
  );
}

export function renderDeployments(tbody: HTMLTableSectionElement, deployments: DeploymentView[], now: number): void {
  if (deployments.length === 0) {
    tbody.replaceChildren(h('tr', {}, h('td', { class: 'empty', attrs: { colspan: '14' } }, 'No deployments: add models to models.yaml.')));
    return;
  }
  tbody.replaceChildren(...deployments.map((d) => row(d, now)));
}
