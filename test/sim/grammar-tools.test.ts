// docs/tgi-contract.md "Grammar and tools": grammar validation (router/src/validation.rs), the
// constrained output, tools → tool grammar (router/src/infer/tool_grammar.rs), tool_calls in
// answers and streams (router/src/chat.rs), and the tool errors (router/src/lib.rs try_into_generate).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, sseData } from './fixtures.ts';

let sim: SimProcess;

before(async () => {
  sim = await startSim({ modelId: 'sim/grammar-model', args: ['--max-total-tokens', '2048'] });
});
after(() => sim.stop());

async function generate(parameters: Record<string, unknown>, inputs = 'Describe a person') {
  const res = await postJson(`${sim.url}/generate`, { inputs, parameters: { max_new_tokens: 200, details: true, ...parameters } });
  return { status: res.status, json: JSON.parse(res.body) };
}

async function refusedGrammar(grammar: unknown, error: string) {
  const { status, json } = await generate({ grammar });
  assert.equal(status, 422, JSON.stringify(json));
  assert.deepEqual(json, { error: `Input validation error: ${error}`, error_type: 'validation' });
}

const PERSON = {
  type: 'object',
  properties: {
    firstName: { type: 'string' },
    age: { type: 'integer', minimum: 18, maximum: 99 },
    hobbies: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 },
    pet: { type: 'string', enum: ['cat', 'dog'] },
    address: { $ref: '#/$defs/address' },
  },
  required: ['firstName', 'age'],
  $defs: { address: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '[0-9]{5}' } } } },
};

describe('parameters.grammar: validation (router/src/validation.rs)', () => {
  test('a schema without properties', async () => {
    await refusedGrammar({ type: 'json', value: { type: 'object' } }, "grammar is not valid: Grammar must have a 'properties' field");
    await refusedGrammar({ type: 'json_schema', value: { name: 'x', schema: { type: 'object' } } }, "grammar is not valid: Grammar must have a 'properties' field");
  });

  test('a JSON string value is parsed again; invalid JSON is "not valid", a non-object value "not supported"', async () => {
    const { status } = await generate({ grammar: { type: 'json', value: JSON.stringify(PERSON) } });
    assert.equal(status, 200);
    await refusedGrammar({ type: 'json', value: '{nope' }, 'grammar is not valid: key must be a string at line 1 column 2');
    await refusedGrammar({ type: 'json', value: [1] }, 'grammar is not supported');
  });

  test('the meta-schema is checked (an unknown type)', async () => {
    const { json } = await generate({ grammar: { type: 'json', value: { type: 'thing', properties: {} } } });
    assert.match(json.error, /^Input validation error: grammar is not valid: /);
  });

  test('json_object is an alias of json; an unknown type or a missing value is the serde 422', async () => {
    assert.equal((await generate({ grammar: { type: 'json_object', value: PERSON } })).status, 200);
    const unknown = await postJson(`${sim.url}/generate`, { inputs: 'x', parameters: { grammar: { type: 'yaml', value: '' } } });
    assert.equal(unknown.body, 'Failed to deserialize the JSON body into the target type: parameters.grammar.type: unknown variant `yaml`, expected one of `json`, `json_object`, `regex`, `json_schema`');
    const missing = await postJson(`${sim.url}/generate`, { inputs: 'x', parameters: { grammar: { type: 'regex' } } });
    assert.equal(missing.body, 'Failed to deserialize the JSON body into the target type: parameters.grammar: missing field `value`');
  });

  test('the grammar is checked after tokenization: a too long request reports its length first', async () => {
    const { json } = await generate({ grammar: { type: 'json', value: { type: 'object' } } }, 'word '.repeat(2100));
    assert.match(json.error, /must be <= 2048/);
  });

  test('--disable-grammar-support refuses every grammar, tools included', async () => {
    const off = await startSim({ args: ['--disable-grammar-support'] });
    try {
      const res = await postJson(`${off.url}/generate`, { inputs: 'x', parameters: { grammar: { type: 'regex', value: 'a' } } });
      assert.deepEqual(JSON.parse(res.body), { error: 'Input validation error: grammar is not supported', error_type: 'validation' });
      const chat = await postJson(`${off.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'weather?' }], tools: [WEATHER] });
      assert.deepEqual(JSON.parse(chat.body), { error: 'Input validation error: grammar is not supported', error_type: 'validation' });
    } finally {
      await off.stop();
    }
  });
});

describe('constrained output', () => {
  test('a JSON schema gives a document of its shape, then EOS', async () => {
    const { json } = await generate({ grammar: { type: 'json', value: PERSON } });
    assert.equal(json.details.finish_reason, 'eos_token');
    const person = JSON.parse(json.generated_text);
    assert.equal(typeof person.firstName, 'string');
    assert.ok(Number.isInteger(person.age) && person.age >= 18 && person.age <= 99);
    assert.ok(person.hobbies.length >= 1 && person.hobbies.length <= 2);
    assert.ok(['cat', 'dog'].includes(person.pet));
    assert.match(person.address.zip, /^[0-9]{5}$/);
  });

  test('max_new_tokens can cut the document (finish_reason length), as with a real model', async () => {
    const { json } = await generate({ max_new_tokens: 3, grammar: { type: 'json', value: PERSON } });
    assert.equal(json.details.finish_reason, 'length');
    assert.throws(() => JSON.parse(json.generated_text));
  });

  test('a regex gives a matching string', async () => {
    for (const pattern of ['[0-9]{3}', '((25[0-5]|2[0-4]\\d|[01]?\\d\\d?)\\.){3}(25[0-5]|2[0-4]\\d|[01]?\\d\\d?)', '[\\w-]+@([\\w-]+\\.)+[\\w-]+', '(yes|no)']) {
      const { json } = await generate({ grammar: { type: 'regex', value: pattern } });
      assert.match(json.generated_text, new RegExp(`^(?:${pattern})$`), pattern);
    }
  });

  test('regex syntax the simulator does not model (lookahead) gives prose', async () => {
    const { status, json } = await generate({ max_new_tokens: 5, grammar: { type: 'regex', value: '(?=a)a' } });
    assert.equal(status, 200);
    assert.equal(json.details.generated_tokens, 5);
  });

  test('chat response_format is the same grammar', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'A person?' }], response_format: { type: 'json', value: PERSON } });
    assert.equal(typeof JSON.parse(JSON.parse(res.body).choices[0].message.content).firstName, 'string');
  });
});

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_current_weather',
    description: 'Get the current weather',
    parameters: { type: 'object', properties: { location: { type: 'string' }, format: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location', 'format'] },
  },
};
const FORECAST = {
  type: 'function',
  function: { name: 'get_n_day_weather_forecast', parameters: { type: 'object', properties: { location: { type: 'string' }, num_days: { type: 'integer' } } } },
};
const WEATHER_QUESTION = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is the weather like in Brooklyn, New York?' },
];

async function chat(body: Record<string, unknown>) {
  const res = await postJson(`${sim.url}/v1/chat/completions`, { max_tokens: 100, temperature: 0, ...body });
  return { res, json: res.headers['content-type'] === 'application/json' ? JSON.parse(res.body) : undefined };
}

describe('tools (router/src/infer/tool_grammar.rs, chat.rs)', () => {
  test('tools with response_format: 422 "Tool error: Grammar and tools are mutually exclusive", streaming or not', async () => {
    for (const stream of [false, true]) {
      const { res, json } = await chat({ messages: WEATHER_QUESTION, tools: [WEATHER], response_format: { type: 'json', value: PERSON }, stream });
      assert.equal(res.status, 422);
      assert.deepEqual(json, { error: 'Tool error: Grammar and tools are mutually exclusive', error_type: 'tool_error' });
    }
  });

  test('a tool_choice naming no offered tool: 422 "Tool error: Tool with name … not found"', async () => {
    const { res, json } = await chat({ messages: WEATHER_QUESTION, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } });
    assert.equal(res.status, 422);
    assert.deepEqual(json, { error: 'Tool error: Tool with name nope not found', error_type: 'tool_error' });
  });

  test('auto: the mentioned tool is called; message has tool_calls and no content (chat.rs parse_output)', async () => {
    const { json } = await chat({ messages: WEATHER_QUESTION, tools: [WEATHER, FORECAST] });
    const { message, finish_reason } = json.choices[0];
    assert.deepEqual(Object.keys(message), ['role', 'tool_calls']);
    assert.equal(finish_reason, 'stop');
    assert.equal(message.tool_calls.length, 1);
    const [call] = message.tool_calls;
    assert.deepEqual({ ...call, function: { ...call.function, arguments: undefined } }, { id: '0', type: 'function', function: { description: null, name: 'get_current_weather', arguments: undefined } });
    assert.deepEqual(Object.keys(JSON.parse(call.function.arguments)), ['location', 'format']);
    assert.equal(JSON.parse(call.function.arguments).location, 'Brooklyn, NY');
  });

  test('a forced tool is called whatever the question; the tools and tool prompt go into the last message', async () => {
    const { json } = await chat({ messages: [{ role: 'user', content: 'Tell me a story' }], tools: [WEATHER, FORECAST], tool_choice: 'get_n_day_weather_forecast' });
    assert.equal(json.choices[0].message.tool_calls[0].function.name, 'get_n_day_weather_forecast');
    const tokenized = JSON.parse((await postJson(`${sim.url}/chat_tokenize`, { messages: [{ role: 'user', content: 'Tell me a story' }], tools: [WEATHER], tool_choice: 'required' })).body);
    assert.match(tokenized.templated_text, /Tell me a story\n---\n\[\{"type":"function","function":\{"description":"Get the current weather","name":"get_current_weather","arguments":"\{\\"type\\":\\"object\\"/);
    assert.ok(tokenized.templated_text.includes('Given the functions available, please respond with a JSON for a function call'));
  });

  test('auto with no tool mentioned: no_tool, so the request runs again without tools and answers content', async () => {
    const { json } = await chat({ messages: [{ role: 'user', content: 'Tell me a story' }], tools: [WEATHER] });
    assert.equal(typeof json.choices[0].message.content, 'string');
    assert.equal(json.choices[0].message.tool_calls, undefined);
  });

  test('tool_choice "none": no tools at all', async () => {
    const { json } = await chat({ messages: WEATHER_QUESTION, tools: [WEATHER], tool_choice: 'none', max_tokens: 5 });
    assert.equal(typeof json.choices[0].message.content, 'string');
  });

  test('a generation cut before the call is complete is 422 "Tool error: Failed to parse generated text: …"', async () => {
    const { res, json } = await chat({ messages: WEATHER_QUESTION, tools: [WEATHER], tool_choice: 'required', max_tokens: 4 });
    assert.equal(res.status, 422);
    assert.equal(json.error_type, 'tool_error');
    assert.match(json.error, /^Tool error: Failed to parse generated text: .* "\{\\"function/);
  });

  test('stream: the name and "{" first, then argument pieces with name null, no finish_reason chunk, usage, [DONE] (ChatState)', async () => {
    const { res } = await chat({ messages: WEATHER_QUESTION, tools: [WEATHER], tool_choice: 'required', stream: true, stream_options: { include_usage: true } });
    const events = sseData(res.body);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const usage = chunks.pop();
    assert.deepEqual(usage.choices, []);
    const calls = chunks.map((c) => c.choices[0].delta.tool_calls[0]);
    assert.deepEqual(calls[0], { index: 0, id: '0', type: 'function', function: { name: 'get_current_weather', arguments: '{' } });
    assert.ok(calls.slice(1).every((c) => c.function.name === null && c.id === '0'));
    assert.ok(chunks.every((c) => c.choices[0].finish_reason === null), 'the EOS token is swallowed with its finish_reason');
    const args = JSON.parse(calls.map((c) => c.function.arguments).join(''));
    assert.deepEqual(Object.keys(args), ['location', 'format']);
  });

  test('stream id: one more than the largest numeric tool-call id of the conversation', async () => {
    const history = [
      ...WEATHER_QUESTION,
      { role: 'assistant', content: null, tool_calls: [{ id: '4', type: 'function', function: { name: 'get_current_weather', arguments: { location: 'Paris', format: 'celsius' } } }] },
      { role: 'tool', content: '18 degrees' },
      { role: 'user', content: 'And the weather in Tokyo?' },
    ];
    const { res } = await chat({ messages: history, tools: [WEATHER], tool_choice: 'required', stream: true });
    assert.equal(JSON.parse(sseData(res.body)[0]).choices[0].delta.tool_calls[0].id, '5');
  });

  test('stream with no_tool: the stream restarts without tools and streams content', async () => {
    const { res } = await chat({ messages: [{ role: 'user', content: 'Tell me a story' }], tools: [WEATHER], stream: true, max_tokens: 30 });
    const chunks = sseData(res.body).slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(chunks.length > 0 && chunks.every((c) => typeof c.choices[0].delta.content === 'string'));
    const metrics = (await fetch(`${sim.url}/metrics`).then((r) => r.text()));
    assert.match(metrics, /^tgi_request_failure\{err="dropped"\} [1-9]/m, 'the abandoned tool generation counts as dropped');
  });
});
