import type { GpuView } from '../overview.ts';
import { h } from './dom.ts';
import { gib } from './format.ts';

// The GPU map: one card per GPU with its memory and utilisation, and the deployments pinned to it.

function meter(label: string, fraction: number | undefined, text: string): HTMLElement {
  const fill = h('div', { class: 'meter-fill' });
  if (fraction !== undefined) {
    const pct = Math.min(100, Math.max(0, fraction * 100));
    fill.style.width = `${pct}%`;
    if (pct >= 95) fill.classList.add('bad');
    else if (pct >= 80) fill.classList.add('warn');
  }
  return h('div', { class: 'meter-row' }, h('span', { class: 'meter-label' }, label), h('div', { class: 'meter' }, fill), h('span', { class: 'meter-text' }, text));
}

function card(g: GpuView, telemetry: boolean): HTMLElement {
  const hasMemory = g.memoryTotalMiB !== undefined && g.memoryUsedMiB !== undefined && g.memoryTotalMiB > 0;
  const readings = hasMemory
    ? [
        meter('Memory', g.memoryUsedMiB! / g.memoryTotalMiB!, `${gib(g.memoryUsedMiB!)} / ${gib(g.memoryTotalMiB!)} GiB`),
        meter('Utilisation', g.utilizationPercent === undefined ? undefined : g.utilizationPercent / 100, g.utilizationPercent === undefined ? '—' : `${g.utilizationPercent}%`),
      ]
    : telemetry ? [h('p', { class: 'muted small' }, 'nvidia-smi does not report this GPU.')] : [];
  const held = g.deployments.length
    ? h('ul', { class: 'gpu-deployments' }, ...g.deployments.map((k) => h('li', {}, h('code', {}, `/${k}`))))
    : h('p', { class: 'muted small' }, 'No deployment.');
  return h('article', { class: 'gpu', data: { gpu: String(g.index) } }, h('header', {}, h('strong', {}, `GPU ${g.index}`), h('span', { class: 'muted' }, g.name ?? '')), ...readings, held);
}

/** `telemetry`: whether the host has nvidia-smi readings at all (the page says so once when not). */
export function renderGpus(container: HTMLElement, gpus: GpuView[], telemetry: boolean): void {
  if (gpus.length === 0) {
    container.replaceChildren(h('p', { class: 'muted' }, 'No GPUs in use.'));
    return;
  }
  container.replaceChildren(...gpus.map((g) => card(g, telemetry)));
}
