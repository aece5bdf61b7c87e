// docs/tgi-contract.md "Grammar and tools" (router/src/validation.rs, lib.rs, infer/tool_grammar.rs,
// chat.rs): grammar validation, constrained output, tool errors, tool_calls in answers and streams.
import { post, sseData } from '../client.ts';
import { section } from '../case.ts';
import type { Context } from '../context.ts';
import { check, json, routerError, same, skip, status } from '../expect.ts';

const PREFIX = 'Input validation error: ';
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_current_weather',
    description: 'Get the current weather',
    parameters: { type: 'object', properties: { location: { type: 'string' }, format: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location', 'format'] },
  },
};
const WEATHER_QUESTION = [{ role: 'user', content: 'What is the weather like in Brooklyn, New York?' }];
const FORCE_WEATHER = { type: 'function', function: { name: 'get_current_weather' } };

function needsGrammar(ctx: Context): void {
  if (!ctx.grammar) skip('the server runs with --disable-grammar-support');
}

function needsTools(ctx: Context): void {
  if (!ctx.chat) skip('the model has no chat template');
  needsGrammar(ctx);
}

async function generateWith(ctx: Context, grammar: unknown, maxNewTokens = 64): Promise<{ generated_text: string; details: { finish_reason: string } }> {
  const answer = await post(ctx.target, '/generate', { inputs: 'Answer with JSON: is the sky blue?', parameters: { max_new_tokens: maxNewTokens, details: true, grammar } });
  status(answer, 200);
  return json(answer);
}

export const grammarCases = section('Grammar and tools', {
  'a JSON grammar without properties is refused (or any grammar, with --disable-grammar-support)': async (ctx) => {
    const answer = await post(ctx.target, '/generate', { inputs: 'x', parameters: { grammar: { type: 'json', value: { type: 'object' } } } });
    const message = ctx.grammar ? "grammar is not valid: Grammar must have a 'properties' field" : 'grammar is not supported';
    routerError(answer, 422, PREFIX + message, 'validation');
  },

  'a JSON grammar given as a string that is not JSON': async (ctx) => {
    needsGrammar(ctx);
    routerError(await post(ctx.target, '/generate', { inputs: 'x', parameters: { grammar: { type: 'json', value: '{not json' } } }), 422, /^Input validation error: grammar is not valid: /, 'validation');
  },

  'a JSON grammar that is neither an object nor a string is "not supported"': async (ctx) => {
    needsGrammar(ctx);
    routerError(await post(ctx.target, '/generate', { inputs: 'x', parameters: { grammar: { type: 'json', value: 42 } } }), 422, `${PREFIX}grammar is not supported`, 'validation');
  },

  'an unknown grammar type is the serde 422': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'x', parameters: { grammar: { type: 'yaml', value: '' } } });
    status(answer, 422);
    check(answer.text.startsWith('Failed to deserialize the JSON body into the target type: ') && answer.text.includes('unknown variant `yaml`'), `body ${answer.text.slice(0, 200)}`);
  },

  'a JSON grammar: the output is a document of the schema': async (ctx) => {
    needsGrammar(ctx);
    const schema = { type: 'object', properties: { answer: { type: 'string', enum: ['yes', 'no'] } }, required: ['answer'] };
    const { generated_text, details } = await generateWith(ctx, { type: 'json', value: schema });
    if (details.finish_reason === 'length') skip('max_new_tokens ran out before the document was complete');
    const document = JSON.parse(generated_text);
    check(['yes', 'no'].includes(document.answer), `answer ${JSON.stringify(document.answer)}`);
  },

  'a json_schema grammar ({name, schema})': async (ctx) => {
    needsGrammar(ctx);
    const schema = { type: 'object', properties: { count: { type: 'integer' } }, required: ['count'] };
    const { generated_text, details } = await generateWith(ctx, { type: 'json_schema', value: { name: 'counter', schema } });
    if (details.finish_reason === 'length') skip('max_new_tokens ran out before the document was complete');
    check(Number.isInteger(JSON.parse(generated_text).count), `count in ${generated_text}`);
  },

  'a regex grammar: the output matches': async (ctx) => {
    needsGrammar(ctx);
    const { generated_text } = await generateWith(ctx, { type: 'regex', value: '[0-9]{3}' }, 10);
    check(/^[0-9]{3}$/.test(generated_text), `generated_text ${JSON.stringify(generated_text)}`);
  },

  'tools with response_format is a tool error': async (ctx) => {
    const body = { messages: WEATHER_QUESTION, tools: [WEATHER_TOOL], response_format: { type: 'json', value: { properties: {} } } };
    routerError(await post(ctx.target, '/v1/chat/completions', body), 422, 'Tool error: Grammar and tools are mutually exclusive', 'tool_error');
    routerError(await post(ctx.target, '/v1/chat/completions', { ...body, stream: true }), 422, 'Tool error: Grammar and tools are mutually exclusive', 'tool_error');
  },

  'tool_choice naming no offered tool is a tool error': async (ctx) => {
    const answer = await post(ctx.target, '/v1/chat/completions', { messages: WEATHER_QUESTION, tools: [WEATHER_TOOL], tool_choice: 'get_time' });
    routerError(answer, 422, 'Tool error: Tool with name get_time not found', 'tool_error');
  },

  'a forced tool: message.tool_calls with the arguments as a JSON string': async (ctx) => {
    needsTools(ctx);
    const answer = await post(ctx.target, '/v1/chat/completions', { messages: WEATHER_QUESTION, tools: [WEATHER_TOOL], tool_choice: FORCE_WEATHER, max_tokens: 100, temperature: 0 });
    status(answer, 200);
    const { message } = json(answer).choices[0];
    same(Object.keys(message).filter((k) => k !== 'content'), ['role', 'tool_calls'], 'message keys');
    check(message.content === undefined || message.content === null, 'no content');
    same(message.tool_calls.length, 1, 'one tool call');
    const [call] = message.tool_calls;
    same([call.id, call.type, call.function.name, call.function.description], ['0', 'function', 'get_current_weather', null], 'id, type, name, description');
    check(typeof call.function.arguments === 'string', 'arguments is a string');
    const args = JSON.parse(call.function.arguments);
    check(typeof args.location === 'string' && ['celsius', 'fahrenheit'].includes(args.format), `arguments ${call.function.arguments}`);
  },

  'a forced tool, streamed: the name first, then the arguments piece by piece': async (ctx) => {
    needsTools(ctx);
    const answer = await post(ctx.target, '/v1/chat/completions', { messages: WEATHER_QUESTION, tools: [WEATHER_TOOL], tool_choice: FORCE_WEATHER, max_tokens: 100, temperature: 0, stream: true });
    status(answer, 200);
    const data = sseData(answer.text);
    same(data.at(-1), '[DONE]', 'last event');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    check(chunks.length >= 2, `chunks: ${chunks.length}`);
    const calls = chunks.map((c) => c.choices[0].delta.tool_calls[0]);
    same([calls[0].function.name, calls[0].function.arguments, calls[0].type, calls[0].index], ['get_current_weather', '{', 'function', 0], 'first tool-call delta');
    check(calls.slice(1).every((c) => c.function.name === null), 'later deltas have name null');
    const args = JSON.parse(calls.map((c) => c.function.arguments).join(''));
    check(typeof args.location === 'string', `streamed arguments ${calls.map((c) => c.function.arguments).join('')}`);
  },
});
