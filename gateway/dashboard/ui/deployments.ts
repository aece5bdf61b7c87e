import type { DeploymentView } from '../overview.ts';
import { h } from './dom.ts';
import { duration, millis, NONE, rate } from './format.ts';

// The deployments table: one row per replica, rebuilt on every refresh (a handful of rows).

function stateCell(d: DeploymentView, now: number): HTMLTableCellElement {
  const inState = duration(now - d.since);
  const badge = h('span', { class: `badge state-${d.state}` }, d.state);
  const detail = d.state === 'ready' ? null : h('span', { class: 'state-detail' }, [d.phase, `for ${inState}`].filter(Boolean).join(' · '));
  const failure = d.failure && (d.state === 'failed' || d.state === 'down')
    ? h('div', { class: 'failure', title: d.failure.message }, d.failure.diagnosis ?? d.failure.message)
    : null;
  return h('td', {}, badge, detail, failure);
}

function row(d: DeploymentView, now: number): HTMLTableRowElement {
  const s = d.lastMinute;
  const num = (text: string, cls = '') => h('td', { class: `num ${cls}`.trim() }, text);
  return h(
    'tr',
    { data: { key: d.key, state: d.state } },
    h('td', {}, h('code', { class: 'route' }, `/${d.key}`), d.vision ? h('span', { class: 'chip', title: 'accepts images' }, 'vision') : null),
    h('td', { class: 'model-id', title: `runtime: ${d.runtime}` }, d.modelId),
    h('td', {}, d.gpus.join(', ')),
    stateCell(d, now),
    num(d.state === 'ready' ? duration(now - d.since) : NONE),
    num(String(d.restarts), d.restarts > 0 ? 'warn' : ''),
    num(rate(s.requestsPerSecond)),
    num(millis(s.p50Ms)),
    num(millis(s.p95Ms)),
    num(millis(s.ttftP50Ms)),
    num(rate(s.tokensPerSecond)),
    num(String(d.inFlight)),
    num(String(d.errors15m), d.errors15m > 0 ? 'bad' : ''),
  );
}

export function renderDeployments(tbody: HTMLTableSectionElement, deployments: DeploymentView[], now: number): void {
  if (deployments.length === 0) {
    tbody.replaceChildren(h('tr', {}, h('td', { class: 'empty', attrs: { colspan: '13' } }, 'No deployments: add models to models.yaml.')));
    return;
  }
  tbody.replaceChildren(...deployments.map((d) => row(d, now)));
}
