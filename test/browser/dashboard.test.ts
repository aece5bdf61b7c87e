import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../helpers/sim.ts';
import { runUp, type RunningUp } from '../helpers/up.ts';

// The operator dashboard in a real browser (Debian's chromium driven by playwright-core) against the
// demo started as an operator would. Screenshots go to test-artifacts/.

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const DEMO_KEYS = ['hermes-2-pro-tgi/gpu0', 'hermes-2-pro-tgi/gpu1', 'llava-v1.6-mistral-7b-tgi/gpu0', 'qwen3-8b-vllm/gpu1'];
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is missing (apt-get install chromium)` : false;

describe('operator dashboard in chromium', { skip }, () => {
  let up: RunningUp;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const requested: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
  const row = (key: string) => page.locator(`#deployments-body tr[data-key="${key}"]`);

  /** Runs the playground against a route and resolves with the final output text. */
  async function generate(route: string, prompt: string, maxNewTokens: number): Promise<string> {
    await page.selectOption('#pg-target', route);
    await page.fill('#pg-prompt', prompt);
    await page.fill('#pg-max-new-tokens', String(maxNewTokens));
    await page.click('#pg-run');
    await page.waitForSelector('#pg-status[data-kind="done"], #pg-status[data-kind="error"]', { timeout: 30_000 });
    const status = await page.textContent('#pg-status');
    assert.equal(await page.getAttribute('#pg-status', 'data-kind'), 'done', `playground: ${status}`);
    return (await page.textContent('#pg-output')) ?? '';
  }

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    up = await runUp({ config: 'models.demo.yaml' });
    await up.waitHealthy();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('request', (req) => requested.push(req.url()));
  });

  after(async () => {
    await browser?.close();
    await up?.stop();
    if (up) await rm(up.stateDir, { recursive: true, force: true });
  });

  test('a wrong token is refused with a message, and nothing is kept', async () => {
    await page.goto(up.url + '/');
    await page.fill('#token-input', 'not-the-right-token-0123456789');
    await page.press('#token-input', 'Enter');
    await page.waitForFunction(() => /refused/.test(document.getElementById('sign-in-error')?.textContent ?? ''));
    assert.equal(await page.isHidden('#app'), true);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await shot('sign-in-refused');
  });

  test('signing in with the demo token shows every demo deployment ready with its engine, and the GPU map', async () => {
    await page.fill('#token-input', up.token);
    await page.press('#token-input', 'Enter');
    for (const key of DEMO_KEYS) await row(key).and(page.locator('[data-state="ready"]')).waitFor();
    assert.equal(await page.locator('#deployments-body tr').count(), DEMO_KEYS.length);
    assert.match((await row('llava-v1.6-mistral-7b-tgi/gpu0').textContent())!, /llava-hf\/llava-v1\.6-mistral-7b-hf.*ready/);
    for (const key of DEMO_KEYS) {
      assert.equal(await row(key).locator('td[data-col="engine"]').textContent(), key === 'qwen3-8b-vllm/gpu1' ? 'vLLM' : 'TGI', key);
    }
    assert.ok(!page.url().includes(up.token), 'the token is never in the URL');
    assert.equal(await page.evaluate(() => document.cookie), '');
    const gpu0 = (await page.locator('#gpus article[data-gpu="0"]').textContent())!;
    assert.ok(gpu0.includes('/hermes-2-pro-tgi/gpu0') && gpu0.includes('/llava-v1.6-mistral-7b-tgi/gpu0'), gpu0);
    const gpu1 = (await page.locator('#gpus article[data-gpu="1"]').textContent())!;
    assert.ok(gpu1.includes('/hermes-2-pro-tgi/gpu1') && gpu1.includes('/qwen3-8b-vllm/gpu1'), gpu1);
    await shot('overview');
  });

  test('the event log shows each deployment coming up', async () => {
    for (const key of DEMO_KEYS) {
      await page.locator('#event-log li', { hasText: `/${key}` }).filter({ hasText: '→ ready' }).first().waitFor();
    }
  });

  test('a streaming generation in the playground shows tokens as they arrive', async () => {
    // Record every length the output goes through, as the page renders it.
    await page.evaluate(() => {
      const out = document.getElementById('pg-output')!;
      const seen: number[] = ((window as unknown as { outputLengths: number[] }).outputLengths = []);
      new MutationObserver(() => seen.push(out.textContent!.length)).observe(out, { childList: true, characterData: true, subtree: true });
    });
    const text = await generate('/hermes-2-pro-tgi/gpu0', 'Tell me about the sea.', 40);
    const lengths = await page.evaluate(() => (window as unknown as { outputLengths: number[] }).outputLengths);
    const growing = lengths.filter((n, i) => n > (lengths[i - 1] ?? 0));
    assert.ok(text.length > 20, `output: ${text}`);
    assert.ok(growing.length >= 10, `the output grew in ${growing.length} steps (${lengths.join(',')}): tokens should arrive one event at a time`);
    assert.match((await page.textContent('#pg-status'))!, /Done · 40 tokens/);
    // The gateway's request events feed the table: the request shows up in the next refresh.
    await page.waitForFunction(() => {
      const cell = document.querySelector('#deployments-body tr[data-key="hermes-2-pro-tgi/gpu0"] td[data-col="tokens-per-second"]');
      return cell !== null && cell.textContent !== '0';
    });
    // And the usage per key: the page signs in with the operator's token.
    await page.waitForFunction(() => {
      const cells = document.querySelectorAll('#key-usage-body tr[data-key="operator"] td');
      return cells.length === 6 && Number(cells[4].textContent!.replace(/,/g, '')) >= 40;
    });
    await shot('playground-stream');
  });

  test('the playground streams from the vLLM deployment too: the gateway answers its /generate in TGI\'s shapes', async () => {
    const text = await generate('/qwen3-8b-vllm/gpu1', 'Tell me about the sea.', 12);
    assert.ok(text.length > 5, `output: ${text}`);
    assert.match((await page.textContent('#pg-status'))!, /Done · 12 tokens .* finish: length/);
    await shot('playground-vllm');
  });

  test('"copy as curl" gives a command with ${VALID_TOKEN} that works as printed', async () => {
    await page.selectOption('#pg-target', '/hermes-2-pro-tgi/gpu1');
    await page.fill('#pg-max-new-tokens', '5');
    await page.click('#pg-curl');
    const command = (await page.textContent('#pg-curl-text'))!;
    assert.ok(command.includes('Bearer ${VALID_TOKEN}') && !command.includes(up.token), command);
    assert.ok(command.includes(`${up.url}/hermes-2-pro-tgi/gpu1/generate`), command);
    const run = spawnSync('bash', ['-c', command], { env: { ...process.env, VALID_TOKEN: up.token }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^data:\s*\{"index":1,/m);
    assert.match(run.stdout, /"generated_text":"[^"]+"/);
  });

  test('an image uploaded to the vision deployment is scaled to 1024 px in the browser and described by the simulator', async () => {
    await page.selectOption('#pg-target', '/llava-v1.6-mistral-7b-tgi/gpu0');
    assert.equal(await page.isVisible('#pg-image-row'), true);
    const dataUrl = await page.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 1600;
      canvas.height = 1200;
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#38bdf8';
      ctx.fillRect(0, 0, 1600, 1200);
      ctx.fillStyle = '#f59e0b';
      ctx.beginPath();
      ctx.arc(800, 600, 300, 0, 2 * Math.PI);
      ctx.fill();
      return canvas.toDataURL('image/png');
    });
    await page.setInputFiles('#pg-image', { name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from(dataUrl.split(',')[1], 'base64') });
    await page.waitForFunction(() => document.getElementById('pg-image-info')?.textContent === '1024×768 png (scaled down)');
    const text = await generate('/llava-v1.6-mistral-7b-tgi/gpu0', 'What is in this picture?', 30);
    assert.match(text, /^I see a 1024x768 png image\./);
    await shot('playground-vision');
  });

  test('model output containing <script> and <img onerror> is shown as text and runs nothing', async () => {
    const tokens = ['<script>window.pwned = "script"</script>', ' <img src=x onerror="window.pwned = \'img\'">', ' <b>bold?</b>'];
    const events = tokens.map((text, i) => ({ index: i + 1, token: { id: i, text, logprob: -0.1, special: false }, generated_text: i === tokens.length - 1 ? tokens.join('') : null, details: null }));
    // The simulator never writes HTML, so this one response is made here; the page is what is tested.
    await page.route('**/hermes-2-pro-tgi/gpu1/generate', (route) =>
      route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: events.map((e) => `data:${JSON.stringify(e)}\n\n`).join('') }));
    const text = await generate('/hermes-2-pro-tgi/gpu1', 'Say something dangerous.', 3);
    await page.unroute('**/hermes-2-pro-tgi/gpu1/generate');
    assert.equal(text, tokens.join(''));
    assert.equal(await page.locator('#pg-output *').count(), 0, 'no element was created from model output');
    assert.equal(await page.locator('img[src="x"], script:not([src])').count(), 0);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300))); // give a stray onerror its chance
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: string }).pwned), undefined);
    await shot('playground-escaped');
  });

  test('the page loaded nothing from anywhere but the gateway, threw nothing, and signing out forgets the token', async () => {
    const foreign = requested.filter((u) => !u.startsWith(up.url) && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
    await page.click('#sign-out');
    assert.equal(await page.isVisible('#sign-in'), true);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });
});
