import type { LogEntry } from '../event-log.ts';
import { h } from './dom.ts';
import { clock } from './format.ts';

// The event log, newest first, capped at what the page keeps.

const KEEP = 300;

export function prependEvents(list: HTMLOListElement, entries: LogEntry[]): void {
  for (const e of entries) {
    list.prepend(
      h('li', { class: `log-${e.level}`, data: { kind: e.kind } },
        h('time', {}, clock(e.at)),
        h('span', { class: 'log-message' },
          e.key ? h('code', {}, `/${e.key}`) : h('span', { class: 'muted log-kind' }, e.kind.replace('_', ' ')),
          e.message)),
    );
  }
  while (list.children.length > KEEP) list.lastElementChild!.remove();
  list.classList.toggle('is-empty', list.children.length === 0);
}
