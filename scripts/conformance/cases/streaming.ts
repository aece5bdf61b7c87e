// docs/tgi-contract.md "Streaming framing" (router/src/server.rs generate_stream_internal): SSE
// events, the last one with the text and details, no [DONE], errors inside the 200 stream.
import { post, sseData } from '../client.ts';
import { section } from '../case.ts';
import { check, json, same, status } from '../expect.ts';

export const streamingCases = section('Streaming framing', {
  '/generate_stream: data events, index from 1, last with generated_text and details, no [DONE]': async ({ target }) => {
    const inputs = 'My name is Olivier and I';
    const answer = await post(target, '/generate_stream', { inputs, parameters: { max_new_tokens: 5, details: true } });
    status(answer, 200);
    check((answer.headers.get('content-type') ?? '').startsWith('text/event-stream'), `content-type ${answer.headers.get('content-type')}`);
    same(answer.headers.get('x-accel-buffering'), 'no', 'x-accel-buffering');
    same(answer.headers.get('x-compute-characters'), String([...inputs].length), 'x-compute-characters');
    check(!/^event:|^id:/m.test(answer.text), 'no event: or id: fields');
    const data = sseData(answer.text);
    check(!data.includes('[DONE]'), 'no [DONE]');
    const events = data.map((d) => JSON.parse(d));
    check(events.length >= 1 && events.length <= 5, `1..5 events, got ${events.length}`);
    events.forEach((event, i) => {
      same(event.index, i + 1, `events[${i}].index`);
      const last = i === events.length - 1;
      same(Object.keys(event), ['index', 'token', 'generated_text', 'details'], `events[${i}] keys`);
      if (!last) same([event.generated_text, event.details], [null, null], `events[${i}] generated_text and details`);
    });
    const last = events.at(-1);
    check(typeof last.generated_text === 'string', 'generated_text on the last event');
    same(Object.keys(last.details), ['finish_reason', 'generated_tokens', 'seed', 'input_length'], 'details keys');
    same(last.details.generated_tokens, events.length, 'generated_tokens');
    const tokens = json(await post(target, '/tokenize', { inputs }));
    same(last.details.input_length, tokens.length, 'input_length = /tokenize count');
  },

  'without details the last event has details null': async ({ target }) => {
    const events = sseData((await post(target, '/generate_stream', { inputs: 'Hello', parameters: { max_new_tokens: 2 } })).text).map((d) => JSON.parse(d));
    check(typeof events.at(-1).generated_text === 'string', 'generated_text on the last event');
    same(events.at(-1).details, null, 'details');
  },

  'a validation error is one event in a 200 stream': async ({ target }) => {
    const answer = await post(target, '/generate_stream', { inputs: 'Hello', parameters: { temperature: 0 } });
    status(answer, 200);
    same(answer.text, `data: ${JSON.stringify({ error: 'Input validation error: `temperature` must be strictly positive', error_type: 'validation' })}\n\n`, 'stream');
  },

  'decoder_input_details is refused inside the stream': async ({ target }) => {
    const answer = await post(target, '/generate_stream', { inputs: 'Hello', parameters: { decoder_input_details: true } });
    status(answer, 200);
    same(answer.text, `data: ${JSON.stringify({ error: 'Input validation error: `decoder_input_details` == true is not supported when streaming tokens', error_type: 'validation' })}\n\n`, 'stream');
  },

  'best_of != 1 is refused inside the stream': async ({ target }) => {
    const answer = await post(target, '/generate_stream', { inputs: 'Hello', parameters: { best_of: 2, do_sample: true } });
    status(answer, 200);
    same(answer.text, `data: ${JSON.stringify({ error: 'Input validation error: `best_of` != 1 is not supported when streaming tokens', error_type: 'validation' })}\n\n`, 'stream');
  },

  'POST / with stream: true is the same SSE': async ({ target }) => {
    const answer = await post(target, '/', { inputs: 'Hello', parameters: { max_new_tokens: 2 }, stream: true });
    status(answer, 200);
    const events = sseData(answer.text).map((d) => JSON.parse(d));
    check(events.length >= 1 && events[0].index === 1, 'token events');
  },
});
