import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { jpegHeader, markdownImage, PNG_1X1, pngHeader, postJson, send, webpHeader } from './fixtures.ts';

let vision: SimProcess;

before(async () => {
  vision = await startSim({ modelId: 'sim/llava', env: { SIM_VISION: '1' } });
});
after(() => vision.stop());

async function generatedText(sim: SimProcess, inputs: string, maxNewTokens = 40): Promise<string> {
  const res = await postJson(`${sim.url}/generate`, { inputs, parameters: { max_new_tokens: maxNewTokens } });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).generated_text;
}

async function promptTokens(sim: SimProcess, inputs: string): Promise<number> {
  return JSON.parse((await postJson(`${sim.url}/tokenize`, { inputs })).body).length;
}

describe('SIM_VISION=1', () => {
  test('/info reports the image-text-to-text pipeline', async () => {
    const info = JSON.parse((await send(`${vision.url}/info`)).body);
    assert.equal(info.model_pipeline_tag, 'image-text-to-text');
    assert.equal(info.simulator.vision, true);
  });

  test('describes a real 1x1 PNG', async () => {
    const text = await generatedText(vision, `${markdownImage(PNG_1X1)}What is in this image?`);
    assert.match(text, /^I see a 1x1 png image\. /);
  });

  test('reads the dimensions and format from the bytes of PNG, JPEG and WebP', async () => {
    assert.match(await generatedText(vision, `${markdownImage(pngHeader(640, 480))}Describe.`), /^I see a 640x480 png image\./);
    assert.match(await generatedText(vision, `${markdownImage(jpegHeader(800, 600), 'image/jpeg')}Describe.`), /^I see a 800x600 jpeg image\./);
    assert.match(await generatedText(vision, `${markdownImage(webpHeader(1024, 768), 'image/webp')}Describe.`), /^I see a 1024x768 webp image\./);
    // The data URL's declared type does not matter: the bytes decide.
    assert.match(await generatedText(vision, `${markdownImage(jpegHeader(32, 16), 'image/png')}Describe.`), /^I see a 32x16 jpeg image\./);
  });

  test('several images give one sentence each, in order', async () => {
    const inputs = `${markdownImage(pngHeader(10, 20))}${markdownImage(webpHeader(30, 40), 'image/webp')}Compare them.`;
    assert.match(await generatedText(vision, inputs), /^I see a 10x20 png image\. I see a 30x40 webp image\. /);
  });

  test('each image costs a fixed 64 input tokens, the same in /tokenize and in validation', async () => {
    const question = 'What is in this image?';
    const textOnly = await promptTokens(vision, question);
    const withImage = await promptTokens(vision, `${markdownImage(pngHeader(512, 512))}${question}`);
    assert.equal(withImage - textOnly, 64);
    const res = await postJson(`${vision.url}/generate`, { inputs: `${markdownImage(pngHeader(512, 512))}${question}`, parameters: { max_new_tokens: 2 } });
    assert.equal(res.headers['x-prompt-tokens'], String(withImage));
  });

  test('a raw <image> tag is a 422', async () => {
    const res = await postJson(`${vision.url}/generate`, { inputs: `<image>${PNG_1X1.toString('base64')}</image>\nDescribe this image.`, parameters: { max_new_tokens: 5 } });
    assert.equal(res.status, 422);
    const body = JSON.parse(res.body);
    assert.equal(body.error_type, 'validation');
    assert.match(body.error, /<image>/);
  });

  test('bytes that are no image are a 422', async () => {
    const res = await postJson(`${vision.url}/generate`, { inputs: `${markdownImage(Buffer.from('definitely not an image'))}Hi`, parameters: { max_new_tokens: 5 } });
    assert.equal(res.status, 422);
    assert.equal(JSON.parse(res.body).error_type, 'validation');
  });

  test('chat image_url parts are images too', async () => {
    const res = await postJson(`${vision.url}/v1/chat/completions`, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpegHeader(300, 200).toString('base64')}` } },
            { type: 'text', text: 'What do you see?' },
          ],
        },
      ],
      max_tokens: 20,
    });
    assert.equal(res.status, 200, res.body);
    assert.match(JSON.parse(res.body).choices[0].message.content, /^I see a 300x200 jpeg image\./);
  });

  test('the sentence streams token by token like any text', async () => {
    const res = await postJson(`${vision.url}/generate_stream`, { inputs: `${markdownImage(PNG_1X1)}Hi`, parameters: { max_new_tokens: 30 } });
    const events = res.body.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice('data: '.length)));
    assert.match(events.at(-1).generated_text, /^I see a 1x1 png image\./);
    assert.equal(events.map((e: { token: { text: string } }) => e.token.text).join(''), events.at(-1).generated_text);
  });
});

describe('without SIM_VISION', () => {
  test('an image is just text', async () => {
    const text = await startSim();
    try {
      const inputs = `${markdownImage(PNG_1X1)}What is this?`;
      assert.doesNotMatch(await generatedText(text, inputs), /I see a/);
      assert.ok((await promptTokens(text, inputs)) > 20, 'the base64 is tokenized as text');
      const res = await postJson(`${text.url}/generate`, { inputs: '<image>abc</image> hello', parameters: { max_new_tokens: 2 } });
      assert.equal(res.status, 200);
    } finally {
      await text.stop();
    }
  });
});
