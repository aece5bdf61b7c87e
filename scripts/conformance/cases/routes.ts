// docs/tgi-contract.md "Routes": the route table, status codes, HTTP-layer rejections, /tokenize,
// /vertex and /invocations (router/src/server.rs, vertex.rs, sagemaker.rs).
import { call, post } from '../client.ts';
import { section } from '../case.ts';
import { check, isType, json, plainRejection, routerError, same, status } from '../expect.ts';

const DESERIALIZE = 'Failed to deserialize the JSON body into the target type: ';

export const routeCases = section('Routes', {
  'GET /health, /ping and / answer 200 with an empty body': async ({ target }) => {
    for (const path of ['/health', '/ping', '/']) {
      const answer = await call(target, path);
      status(answer, 200);
      same(answer.text, '', `${path} body`);
    }
  },

  'GET /v1/models lists the served model': async ({ target, info }) => {
    const answer = await call(target, '/v1/models');
    status(answer, 200);
    same(json(answer), { object: 'list', data: [{ id: info.model_id, object: 'model', created: 0, owned_by: info.model_id }] }, '/v1/models');
  },

  'an unknown path is 404 with an empty body': async ({ target }) => {
    const answer = await call(target, '/no-such-route');
    status(answer, 404);
    same(answer.text, '', 'body');
  },

  'a known path with another method is 405 with an allow header': async ({ target }) => {
    const answer = await call(target, '/generate');
    status(answer, 405);
    check((answer.headers.get('allow') ?? '').includes('POST'), `allow header ${answer.headers.get('allow')}`);
  },

  'POST /tokenize: ids with byte offsets, each text is its bytes, BOS included': async ({ target }) => {
    const inputs = 'Héllo wörld, 42';
    const answer = await post(target, '/tokenize', { inputs });
    status(answer, 200);
    const tokens = json(answer) as Array<{ id: number; text: string; start: number; stop: number }>;
    check(Array.isArray(tokens) && tokens.length > 0, 'an array of tokens');
    const bytes = Buffer.from(inputs);
    for (const token of tokens) {
      same(Object.keys(token), ['id', 'text', 'start', 'stop'], 'token keys');
      isType(token.id, 'number', 'id');
      check(token.start <= token.stop && token.stop <= bytes.length, `offsets ${token.start}..${token.stop} within ${bytes.length} bytes`);
      same(token.text, bytes.subarray(token.start, token.stop).toString('utf8'), `text of ${token.start}..${token.stop}`);
    }
  },

  'POST /tokenize does not apply truncate': async ({ target }) => {
    const inputs = 'one two three four five six';
    const full = json(await post(target, '/tokenize', { inputs }));
    const truncated = json(await post(target, '/tokenize', { inputs, parameters: { truncate: 1 } }));
    same(truncated.length, full.length, 'token count with truncate: 1');
  },

  'POST /chat_tokenize: tokenize_response and templated_text': async ({ target, chat }) => {
    const answer = await post(target, '/chat_tokenize', { messages: [{ role: 'user', content: 'Hello there' }] });
    if (!chat) return void routerError(answer, 422, /^Template error: /, 'template_error');
    status(answer, 200);
    const body = json(answer);
    same(Object.keys(body), ['tokenize_response', 'templated_text'], 'keys');
    check(Array.isArray(body.tokenize_response) && body.tokenize_response.length > 0, 'tokenize_response is a non-empty list');
    check(typeof body.templated_text === 'string' && body.templated_text.includes('Hello there'), 'templated_text holds the message');
  },

  'malformed JSON is a 400 in plain text': async ({ target }) => {
    plainRejection(await call(target, '/generate', { raw: '{"inputs": "x",', contentType: 'application/json' }), 400, 'Failed to parse the request body as JSON: ');
  },

  'a missing field is a 422 in plain text naming it': async ({ target }) => {
    plainRejection(await post(target, '/generate', { parameters: {} }), 422, DESERIALIZE, 'missing field `inputs`');
  },

  'a field of the wrong type is a 422 in plain text with its path': async ({ target }) => {
    plainRejection(await post(target, '/generate', { inputs: 'x', parameters: { max_new_tokens: 'ten' } }), 422, DESERIALIZE, 'parameters.max_new_tokens: invalid type: string "ten", expected u32');
  },

  'another content type is a 415': async ({ target }) => {
    const answer = await call(target, '/generate', { raw: '{"inputs":"x"}', contentType: 'text/plain' });
    status(answer, 415);
    same(answer.text, 'Expected request with `Content-Type: application/json`', 'body');
  },

  'a body over the payload limit is a 413': async ({ target, payloadLimit }) => {
    const answer = await post(target, '/generate', { inputs: 'x'.repeat(payloadLimit + 16) });
    status(answer, 413);
    same(answer.text, 'Failed to buffer the request body: length limit exceeded', 'body');
  },

  '/invocations with a generate body answers like POST /': async ({ target }) => {
    const answer = await post(target, '/invocations', { inputs: 'Hello', parameters: { max_new_tokens: 2 } });
    status(answer, 200);
    const body = json(answer);
    check(Array.isArray(body) && body.length === 1 && typeof body[0].generated_text === 'string', `a one-element array of GenerateResponse, got ${answer.text.slice(0, 200)}`);
  },

  '/invocations with no known body is the untagged-enum 422': async ({ target }) => {
    const answer = await post(target, '/invocations', { nothing: true });
    plainRejection(answer, 422, `${DESERIALIZE}data did not match any variant of untagged enum SagemakerRequest`);
  },

  '/vertex with no instance is 422 "Input validation error"': async ({ target }) => {
    routerError(await post(target, '/vertex', { instances: [] }), 422, 'Input validation error', 'Input validation error');
  },

  '/vertex answers one prediction per instance': async ({ target }) => {
    const answer = await post(target, '/vertex', { instances: [{ inputs: 'Hello', parameters: { max_new_tokens: 2 } }, { inputs: 'World', parameters: { max_new_tokens: 2 } }] });
    status(answer, 200);
    const body = json(answer);
    same(Object.keys(body), ['predictions'], 'keys');
    check(body.predictions.length === 2 && body.predictions.every((p: unknown) => typeof p === 'string'), 'two string predictions');
  },
});
