import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayError } from '../../gateway/errors.ts';
import { detectFormat, translateImages } from '../../gateway/vision.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { gatewayErrorMessage, http, startGateway, type GatewayFixture } from './fixture.ts';
import { gif, jpeg, png, webp } from './images.ts';
import { dataEvents } from './sse.ts';

const b64 = (bytes: Buffer) => bytes.toString('base64');

describe('vision input translation (unit)', () => {
  test('formats are told from the bytes', () => {
    assert.equal(detectFormat(png(1, 1)), 'png');
    assert.equal(detectFormat(jpeg(1, 1)), 'jpeg');
    assert.equal(detectFormat(webp(1, 1)), 'webp');
    assert.equal(detectFormat(gif(1, 1)), undefined);
    assert.equal(detectFormat(Buffer.from('hello')), undefined);
  });

  test('<image>BASE64</image> becomes a Markdown data-URL image, text around it kept', () => {
    const image = b64(jpeg(640, 480));
    assert.equal(translateImages(`<image>${image}</image>\nDescribe this image in detail.`), `![](data:image/jpeg;base64,${image})\nDescribe this image in detail.`);
    const wrapped = `${image.slice(0, 10)}\n${image.slice(10)}`;
    assert.equal(translateImages(`Compare <image>${b64(png(2, 2))}</image> and <image> ${wrapped} </image>`), `Compare ![](data:image/png;base64,${b64(png(2, 2))}) and ![](data:image/jpeg;base64,${image})`);
    assert.equal(translateImages('no image here'), 'no image here');
  });

  test('every rejection is a 400 that says what was found and what is accepted', () => {
    const reject = (inputs: string, pattern: RegExp) =>
      assert.throws(
        () => translateImages(inputs),
        (error: unknown) => error instanceof GatewayError && error.status === 400 && pattern.test(error.message),
      );
    reject(`<image>${b64(gif(10, 10))}</image>`, /image 1 is a GIF image; only JPEG, PNG and WebP images are accepted/);
    reject(`<image>${b64(Buffer.from('just some text, not an image'))}</image>`, /image 1 is not an image \(its first bytes match no known image format\)/);
    reject(`<image>${b64(png(10, 10))}</image><image>${b64(png(1025, 10))}</image>`, /image 2 is 1025x10 pixels \(PNG\); the largest accepted is 1024x1024/);
    reject(`<image>${b64(webp(800, 2000))}</image>`, /image 1 is 800x2000 pixels \(WEBP\)/);
    reject(`<image>${b64(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00]))}</image>`, /looks like a JPEG file but its dimensions cannot be read/);
    reject('<image>not*base64!</image>', /image 1 is not valid base64/);
    reject('<image></image>', /image 1 is empty/);
  });

  test('1024x1024 is accepted', () => {
    assert.match(translateImages(`<image>${b64(png(1024, 1024))}</image>`), /^!\[\]\(data:image\/png;base64,/);
  });
});

describe('vision through the gateway', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;

  before(async () => {
    sim = await startSim({ env: { SIM_VISION: '1' } });
    gw = await startGateway({
      deployments: [
        { model: 'llava', upstream: sim.upstream, vision: true },
        { model: 'hermes', upstream: sim.upstream, vision: false },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  const generate = (route: string, inputs: string, stream = false) => http(`${gw.url}/${route}/generate`, { token: gw.token, body: { inputs, parameters: { max_new_tokens: 30, temperature: 0.3, do_sample: true, details: true }, stream } });

  test('a vision deployment sees the image the client sent, in every accepted format', async () => {
    for (const [format, bytes] of [['jpeg', jpeg(640, 480)], ['png', png(1024, 1024)], ['webp', webp(320, 200)]] as const) {
      const res = await generate('llava/gpu0', `<image>${b64(bytes)}</image>\nDescribe this image in detail.`);
      assert.equal(res.status, 200, res.text);
      const size = /^I see a (\d+x\d+) (\w+) image\./.exec(res.json().generated_text);
      assert.deepEqual(size?.slice(1), [format === 'png' ? '1024x1024' : format === 'jpeg' ? '640x480' : '320x200', format]);
    }
  });

  test('images work in streams too', async () => {
    const res = await generate('llava/gpu0', `<image>${b64(png(64, 32))}</image>\nWhat is this?`, true);
    const last = JSON.parse(dataEvents(res.text).at(-1)!);
    assert.match(last.generated_text, /^I see a 64x32 png image\./);
  });

  test('a rejected image is a 400 in the gateway error body, and nothing reaches the model', async () => {
    const res = await generate('llava/gpu0', `<image>${b64(png(2048, 2048))}</image>\nToo big`);
    assert.match(gatewayErrorMessage(res, 400), /2048x2048 pixels \(PNG\); the largest accepted is 1024x1024/);
    assert.equal(gw.records.at(-1)?.refusedBy, 'bad_request');
  });

  test('a model without vision refuses images with a 400 that says so', async () => {
    const res = await generate('hermes/gpu0', `<image>${b64(png(10, 10))}</image>\nDescribe`);
    assert.match(gatewayErrorMessage(res, 400), /hermes does not accept images: it is not a vision model/);
    const stream = await http(`${gw.url}/hermes/gpu0/generate_stream`, { token: gw.token, body: { inputs: `<image>${b64(png(10, 10))}</image>` } });
    assert.equal(stream.status, 400);
  });
});
