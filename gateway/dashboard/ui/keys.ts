import type { KeyUsageView } from '../key-usage.ts';
import { h } from './dom.ts';
import { clock } from './format.ts';

// Usage per API key since the gateway started: one row per key that sent a request.

const count = (n: number) => n.toLocaleString('en-US');

export function renderKeyUsage(body: HTMLTableSectionElement, keys: KeyUsageView[]): void {
  if (keys.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { class: 'empty', attrs: { colspan: '6' } }, 'No requests yet.')));
    return;
  }
  body.replaceChildren(
    ...keys.map((k) =>
      h(
        'tr',
        { data: { key: k.name } },
        h('td', {}, h('code', {}, k.name)),
        h('td', { class: 'num' }, count(k.requests)),
        h('td', { class: k.refused > 0 ? 'num warn' : 'num' }, count(k.refused)),
        h('td', { class: 'num' }, count(k.promptTokens)),
        h('td', { class: 'num' }, count(k.generatedTokens)),
        h('td', { class: 'num' }, clock(k.lastUsedAt)),
      ),
    ),
  );
}
