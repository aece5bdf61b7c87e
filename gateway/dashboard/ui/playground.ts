import type { DeploymentView } from '../overview.ts';
import { authHeaders, AuthError, errorMessage } from './api.ts';
import { curlCommand, IMAGE_PLACEHOLDER } from './curl.ts';
import { byId, h } from './dom.ts';
import { millis } from './format.ts';
import { prepareImage, type PreparedImage } from './image.ts';
import { sseData } from './sse.ts';

// The playground: streams /<route>/generate and shows the tokens as they arrive, as text only. The
// gateway answers /generate in TGI's shapes on every engine (it translates it for vLLM and SGLang).

interface Target {
  route: string;
  label: string;
  vision: boolean;
}

interface StreamEvent {
  token?: { text: string; special: boolean };
  details?: { finish_reason?: string; generated_tokens?: number } | null;
  error?: string;
}

/** One option per deployment, then one per model with several replicas (the gateway balances those). */
function targetsOf(deployments: DeploymentView[]): Target[] {
  const targets: Target[] = deployments.map((d) => ({ route: `/${d.key}`, label: `/${d.key}${d.state === 'ready' ? '' : ` (${d.state})`}`, vision: d.vision }));
  const byModel = new Map<string, DeploymentView[]>();
  for (const d of deployments) byModel.set(d.model, [...(byModel.get(d.model) ?? []), d]);
  for (const [model, replicas] of byModel) {
    if (replicas.length > 1) targets.push({ route: `/${model}`, label: `/${model} (any ready replica)`, vision: replicas[0].vision });
  }
  return targets;
}

export class Playground {
  private readonly form = byId<HTMLFormElement>('pg-form');
  private readonly target = byId<HTMLSelectElement>('pg-target');
  private readonly prompt = byId<HTMLTextAreaElement>('pg-prompt');
  private readonly maxNewTokens = byId<HTMLInputElement>('pg-max-new-tokens');
  private readonly temperature = byId<HTMLInputElement>('pg-temperature');
  private readonly topP = byId<HTMLInputElement>('pg-top-p');
  private readonly stop = byId<HTMLInputElement>('pg-stop');
  private readonly imageRow = byId('pg-image-row');
  private readonly imageInput = byId<HTMLInputElement>('pg-image');
  private readonly imageInfo = byId('pg-image-info');
  private readonly imagePreview = byId<HTMLImageElement>('pg-image-preview');
  private readonly runButton = byId<HTMLButtonElement>('pg-run');
  private readonly stopButton = byId<HTMLButtonElement>('pg-cancel');
  private readonly output = byId('pg-output');
  private readonly status = byId('pg-status');
  private readonly curlBox = byId('pg-curl-box');
  private readonly curlText = byId('pg-curl-text');
  private readonly curlNote = byId('pg-curl-note');
  private targets: Target[] = [];
  private image?: PreparedImage;
  private imageName = 'image.png';
  private running?: AbortController;

  constructor(private readonly token: () => string, private readonly onAuthLost: (err: AuthError) => void) {
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.generate();
    });
    this.stopButton.addEventListener('click', () => this.running?.abort());
    this.target.addEventListener('change', () => this.showImageRow());
    this.imageInput.addEventListener('change', () => void this.loadImage());
    byId('pg-curl').addEventListener('click', () => void this.copyCurl());
    // A shown command describes the form as it was: hide it once the form changes.
    this.form.addEventListener('input', () => (this.curlBox.hidden = true));
    this.form.addEventListener('change', () => (this.curlBox.hidden = true));
  }

  /** Refreshes the target list; keeps the current choice. */
  setDeployments(deployments: DeploymentView[]): void {
    const next = targetsOf(deployments);
    const same = next.length === this.targets.length && next.every((t, i) => t.route === this.targets[i].route && t.label === this.targets[i].label);
    if (same) return;
    const chosen = this.target.value;
    this.targets = next;
    this.target.replaceChildren(...next.map((t) => h('option', { attrs: { value: t.route } }, t.label)));
    if (next.some((t) => t.route === chosen)) this.target.value = chosen;
    this.showImageRow();
  }

  private get current(): Target | undefined {
    return this.targets.find((t) => t.route === this.target.value);
  }

  private showImageRow(): void {
    const vision = Boolean(this.current?.vision);
    this.imageRow.hidden = !vision;
    if (!vision) this.clearImage();
  }

  private clearImage(): void {
    this.image = undefined;
    this.imageInput.value = '';
    this.imageInfo.textContent = '';
    this.imagePreview.hidden = true;
    this.imagePreview.removeAttribute('src');
  }

  private async loadImage(): Promise<void> {
    const file = this.imageInput.files?.[0];
    this.image = undefined;
    if (!file) return this.clearImage();
    this.imageInfo.textContent = 'Preparing…';
    try {
      const img = await prepareImage(file);
      this.image = img;
      this.imageName = file.name || 'image.png';
      this.imageInfo.textContent = `${img.width}×${img.height} ${img.type.replace('image/', '')}${img.scaled ? ' (scaled down)' : ''}`;
      this.imagePreview.src = `data:${img.type};base64,${img.base64}`;
      this.imagePreview.hidden = false;
    } catch (err) {
      this.imageInfo.textContent = (err as Error).message;
      this.imagePreview.hidden = true;
    }
  }

  private parameters(): Record<string, unknown> {
    const params: Record<string, unknown> = { max_new_tokens: Math.max(1, Number(this.maxNewTokens.value) || 1), details: true };
    const temperature = Number(this.temperature.value);
    // TGI wants temperature > 0 and 0 < top_p < 1; outside that, leave them to the server's defaults.
    if (temperature > 0) Object.assign(params, { temperature, do_sample: true });
    const topP = Number(this.topP.value);
    if (topP > 0 && topP < 1) params.top_p = topP;
    const stop = this.stop.value.split(',').map((s) => s.trim().replace(/\\n/g, '\n')).filter(Boolean);
    if (stop.length) params.stop = stop;
    return params;
  }

  private body(imageBase64: string | undefined): Record<string, unknown> {
    const prompt = this.prompt.value;
    const inputs = this.current?.vision && imageBase64 !== undefined ? `<image>${imageBase64}</image>\n${prompt}` : prompt;
    return { inputs, parameters: this.parameters(), stream: true };
  }

  private setStatus(text: string, kind: 'info' | 'error' | 'done' = 'info'): void {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  private async generate(): Promise<void> {
    const target = this.current;
    if (!target || this.running) return;
    const abort = (this.running = new AbortController());
    this.runButton.disabled = true;
    this.stopButton.disabled = false;
    this.output.textContent = '';
    this.output.dataset.state = 'streaming';
    this.setStatus(`Sending to ${target.route}…`);
    const started = performance.now();
    let firstAt: number | undefined;
    let tokens = 0;
    let finish: string | undefined;
    try {
      const res = await fetch(`${target.route.slice(1)}/generate`, {
        method: 'POST',
        headers: { ...authHeaders(this.token()), 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(this.body(this.image?.base64)),
        signal: abort.signal,
      });
      if (res.status === 401 || res.status === 403) return this.onAuthLost(new AuthError(res.status, await errorMessage(res)));
      if (!res.ok || !res.body) return this.setStatus(`${res.status}: ${await errorMessage(res)}`, 'error');
      for await (const data of sseData(res.body)) {
        const event = JSON.parse(data) as StreamEvent;
        if (event.error) return this.setStatus(`The server stopped the stream: ${event.error}`, 'error');
        if (event.token) {
          firstAt ??= performance.now();
          tokens++;
          if (!event.token.special) this.output.textContent += event.token.text;
        }
        if (event.details?.finish_reason) finish = event.details.finish_reason;
        this.setStatus(`Streaming… ${tokens} tokens`);
      }
      const elapsed = performance.now() - started;
      const streamSeconds = firstAt === undefined ? 0 : (performance.now() - firstAt) / 1000;
      const perSecond = streamSeconds > 0 && tokens > 1 ? ` · ${((tokens - 1) / streamSeconds).toFixed(1)} tokens/s` : '';
      this.setStatus(`Done · ${tokens} tokens in ${millis(elapsed)} · first token after ${millis(firstAt === undefined ? undefined : firstAt - started)}${perSecond}${finish ? ` · finish: ${finish}` : ''}`, 'done');
    } catch (err) {
      if (abort.signal.aborted) this.setStatus(`Stopped after ${tokens} tokens.`);
      else this.setStatus(`Request failed: ${(err as Error).message}`, 'error');
    } finally {
      this.running = undefined;
      this.output.dataset.state = 'idle';
      this.runButton.disabled = false;
      this.stopButton.disabled = true;
    }
  }

  private async copyCurl(): Promise<void> {
    const target = this.current;
    if (!target) return;
    const url = new URL(`${target.route.slice(1)}/generate`, location.href).href;
    const command = curlCommand(url, this.body(this.image ? IMAGE_PLACEHOLDER : undefined), true, this.imageName);
    this.curlText.textContent = command;
    this.curlBox.hidden = false;
    try {
      await navigator.clipboard.writeText(command);
      this.curlNote.textContent = 'Copied to the clipboard. Set VALID_TOKEN in your shell first.';
    } catch {
      // Plain http on a non-local host has no clipboard API: select the text for the operator.
      getSelection()?.selectAllChildren(this.curlText);
      this.curlNote.textContent = 'Selected: press Ctrl+C (the clipboard needs https). Set VALID_TOKEN in your shell first.';
    }
  }
}
