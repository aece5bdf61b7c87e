import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIssues, loadConfig, rejectionHeadline } from '../../orchestrator/config/load.ts';
import { h100s, invalid, issueAt, yaml } from './support.ts';

// Every kind of mistake is reported with its line, column, key path and a hint.

const model = (name: string, gpus = '[0]') => [`  - name: ${name}`, '    model_id: org/model', `    gpus: ${gpus}`];

describe('YAML syntax', () => {
  test('an unclosed flow sequence is reported once, where the [ opens (the parser notices it a line later)', () => {
    const issues = invalid(yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0, 1', 'gateway:', '  port: 8000'));
    assert.deepEqual(
      issues.map((i) => [i.file, i.line, i.column, i.path, i.message, i.hint]),
      [['models.yaml', 4, 11, 'models[0].gpus', 'YAML syntax: this [ is not closed', 'close it with ] on this line or the lines right after']],
    );
  });

  test('an unclosed quote, where it opens', () => {
    const [issue, ...rest] = invalid(yaml('models:', '  - name: "a', '    model_id: org/model', '    gpus: [0]'));
    assert.deepEqual([issue.line, issue.column, issue.path, issue.message, rest.length], [2, 11, 'models[0].name', 'YAML syntax: this quote is not closed', 0]);
  });

  test('a line indented too deep: once, at that line (the parser reports two errors on the line above)', () => {
    const issues = invalid(yaml('models:', '  - name: a', '     model_id: org/model', '    gpus: [0]'));
    assert.deepEqual(issues.map((i) => [i.line, i.column, i.path]), [[3, 6, 'models[0].model_id']]);
    assert.match(issues[0].message, /indented deeper than the keys above it/);
  });

  test('a line indented too little: once, not again for the lines it throws off', () => {
    const issues = invalid(yaml('models:', '  - name: a', '   model_id: org/model', '    gpus: [0]'));
    assert.deepEqual(issues.map((i) => i.line), [3]);
    assert.match(issues[0].hint!, /indent this line like the key above it/);
  });

  test('a duplicate key points at the second one', () => {
    const [issue] = invalid(yaml('models:', '  - name: a', '    model_id: org/model', '    name: b'));
    assert.deepEqual([issue.line, issue.column, issue.path], [4, 5, 'models[0].name']);
    assert.match(issue.hint!, /only once/);
  });

  test('tabs as indentation', () => {
    const [issue] = invalid('models:\n\t- name: a\n');
    assert.deepEqual([issue.line, issue.column], [2, 1]);
    assert.match(issue.hint!, /spaces, not tabs/);
  });

  test('an empty file', () => {
    const [issue] = invalid('');
    assert.equal(issue.message, 'the file is empty');
    assert.equal(issue.line, 1);
  });
});

describe('schema', () => {
  test('unknown keys, each with a did-you-mean hint at the key itself', () => {
    const issues = invalid(yaml('gatway:', '  port: 8000', 'models:', ...model('a'), '    max_total_token: 10', '    rate_limit: 3'));
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.path, i.message, i.hint]),
      [
        [1, 1, 'gatway', 'unknown key `gatway`', 'did you mean `gateway`?'],
        [7, 5, 'models[0].max_total_token', 'unknown key `max_total_token`', 'did you mean `max_total_tokens`?'],
        [8, 5, 'models[0].rate_limit', 'unknown key `rate_limit`', issues[2].hint],
      ],
    );
    assert.match(issues[2].hint!, /valid keys here: name, model_id, gpus/);
    assert.match(issues[2].hint!, /launcher_args/);
  });

  test('a key TGI renamed gets the new name', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    max_input_length: 10')), 'models[0].max_input_length');
    assert.match(issue.hint!, /max_input_tokens/);
  });

  test('a required key that is missing points at its model', () => {
    const issue = issueAt(invalid(yaml('models:', '  - name: a', '    gpus: [0]')), 'models[0].model_id');
    assert.deepEqual([issue.line, issue.column, issue.message], [2, 5, '`model_id` is required']);
  });

  test('an enum value with a typo', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    runtime: simulater')), 'models[0].runtime');
    assert.deepEqual([issue.line, issue.column], [5, 14]);
    assert.equal(issue.hint, 'did you mean `simulator`?');
  });

  test('a bad GPU index inside the list is pointed at, not the whole union', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a', '[0, -1]'))), 'models[0].gpus[1]');
    assert.deepEqual([issue.line, issue.column, issue.message], [4, 15, 'a GPU index is 0 or more']);
  });

  test('gpus that is neither auto nor a list', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a', 'all'))), 'models[0].gpus');
    assert.match(issue.message, /`auto`.*\[\[0, 1\]\]/);
  });

  test('port out of range, bad duration and bad size', () => {
    const issues = invalid(yaml('gateway:', '  port: 70000', '  request_timeout: 30x', '  max_body_size: lots', 'models: []'));
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.path]),
      [
        [2, 9, 'gateway.port'],
        [3, 20, 'gateway.request_timeout'],
        [4, 18, 'gateway.max_body_size'],
      ],
    );
    assert.equal(issues[0].message, 'a port is 1–65535');
    assert.match(issues[1].message, /"30x": expected a duration like 30s, 500ms, 2m, 1h/);
    assert.match(issues[2].message, /"lots": expected a size .* like 1g, 512m, 2mb/);
  });

  test('one bad model does not hide the problems of another', () => {
    const issues = invalid(yaml('models:', ...model('a', '[-1]'), ...model('metrics')));
    assert.deepEqual(issues.map((i) => i.path), ['models[0].gpus[0]', 'models[1].name']);
  });
});

describe('names', () => {
  test('not URL-safe, saying why and suggesting one', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('Hermes 2 Pro'))), 'models[0].name');
    assert.deepEqual([issue.line, issue.column], [2, 11]);
    assert.match(issue.message, /cannot be used in a URL: it has uppercase letters/);
    assert.match(issue.hint!, /e\.g\. `hermes-2-pro`/);
    assert.match(issueAt(invalid(yaml('models:', ...model('a/b'))), 'models[0].name').message, /it contains "\/"/);
    assert.match(issueAt(invalid(yaml('models:', ...model('-a'))), 'models[0].name').message, /must start with a lowercase letter or a digit/);
    assert.match(issueAt(invalid(yaml('models:', ...model('x'.repeat(64)))), 'models[0].name').message, /64 characters long/);
  });

  test('reserved names and gpuN', () => {
    for (const name of ['v1', 'info', 'health', 'metrics', 'ui', 'api', 'generate_stream', 'favicon.ico']) {
      const issue = issueAt(invalid(yaml('models:', ...model(name))), 'models[0].name');
      assert.match(issue.message, /is reserved/, name);
    }
    assert.match(issueAt(invalid(yaml('models:', ...model('gpu12'))), 'models[0].name').message, /GPU route segment/);
  });

  test('duplicate names point at the second', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a', '[0]'), ...model('a', '[1]'))), 'models[1].name');
    assert.equal(issue.line, 5);
    assert.match(issue.message, /already the name of models\[0\]/);
  });
});

describe('runtimes and launcher settings', () => {
  test('runtime: process without command', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    runtime: process')), 'models[0]');
    assert.equal(issue.line, 2);
    assert.match(issue.message, /needs `command`/);
  });

  test('runtime: process from defaults without command, and command on a docker model', () => {
    assert.match(issueAt(invalid(yaml('defaults:', '  runtime: process', 'models:', ...model('a'))), 'models[0]').message, /needs `command`/);
    assert.match(issueAt(invalid(yaml('models:', ...model('a'), '    command: tgi')), 'models[0].command').message, /only used by `runtime: process`/);
  });

  test('a command string with an unclosed quote', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    runtime: process', '    command: "launcher \'--x"')), 'models[0].command');
    assert.match(issue.message, /unclosed quote/);
  });

  test('max_input_tokens must be below max_total_tokens, also when set in defaults', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    max_input_tokens: 4096', '    max_total_tokens: 4096')), 'models[0].max_input_tokens');
    assert.deepEqual([issue.line, issue.column], [5, 23]);
    assert.match(issue.message, /must be less than max_total_tokens \(4096\)/);
    const fromDefaults = invalid(yaml('defaults:', '  max_input_tokens: 8000', 'models:', ...model('a'), '    max_total_tokens: 4096', ...model('b', '[1]'), '    max_total_tokens: 2048'));
    assert.deepEqual(fromDefaults.map((i) => [i.line, i.path]), [[7, 'models[0].max_total_tokens'], [11, 'models[1].max_total_tokens']]);
    const bothInDefaults = invalid(yaml('defaults:', '  max_input_tokens: 8000', '  max_total_tokens: 4096', 'models:', ...model('a'), ...model('b', '[1]')));
    assert.deepEqual(bothInDefaults.map((i) => [i.line, i.path]), [[2, 'defaults.max_input_tokens']]);
  });

  test('launcher_args may not carry first-class or managed flags', () => {
    const issues = invalid(yaml('models:', ...model('a'), '    launcher_args:', '      max-input-tokens: 10', '      num_shard: 2', '      max-top-n-tokens: 5'));
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.path]),
      [
        [6, 7, 'models[0].launcher_args.max-input-tokens'],
        [7, 7, 'models[0].launcher_args.num_shard'],
      ],
    );
    assert.match(issues[0].hint!, /write `max_input_tokens: 2048`/);
    assert.match(issues[1].hint!, /gpus: \[\[0, 1\]\]/);
  });

  test('env names and launcher flag names', () => {
    const issues = invalid(yaml('models:', ...model('a'), '    env: { "bad-name": 1 }', '    launcher_args: { Max_Tokens: 1 }'));
    assert.deepEqual(issues.map((i) => [i.line, i.column, i.path]), [[5, 12, 'models[0].env.bad-name'], [6, 22, 'models[0].launcher_args.Max_Tokens']]);
    assert.match(issues[0].message, /letters, digits and _/);
    assert.match(issues[1].message, /launcher has no flag --max-tokens/);
  });

  test('env may not set the GPU pinning', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    env:', '      CUDA_VISIBLE_DEVICES: "3"')), 'models[0].env.CUDA_VISIBLE_DEVICES');
    assert.deepEqual([issue.line, issue.column], [6, 7]);
  });

  test('limits must be positive', () => {
    const issues = invalid(yaml('models:', ...model('a'), '    limits: { requests_per_second: 0, burst: 1.5, max_concurrent_requests: -1, request_timeout: 0s }'));
    assert.deepEqual(issues.map((i) => i.path), ['models[0].limits.requests_per_second', 'models[0].limits.burst', 'models[0].limits.max_concurrent_requests', 'models[0].limits.request_timeout']);
  });

  test("limits take the gateway's shape (rate_limit: {…}), not both shapes at once", () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a'), '    limits: { rate_limit: { requests_per_second: -1 } }')), 'models[0].limits.rate_limit.requests_per_second');
    assert.equal(issue.message, 'must be greater than 0');
    const twice = issueAt(invalid(yaml('models:', ...model('a'), '    limits: { burst: 3, rate_limit: { burst: 4 } }')), 'models[0].limits.burst');
    assert.match(twice.message, /given twice/);
  });
});

describe('every error has a hint', () => {
  test('a negative rate limit, in the gateway and on a model, says what the key holds with an example', () => {
    const issues = invalid(yaml('gateway:', '  rate_limit: { requests_per_second: -1, burst: 0 }', 'models:', ...model('a'), '    limits: { rate_limit: { requests_per_second: -5 } }'));
    assert.deepEqual(
      issues.map((i) => [i.path, i.message, i.hint]),
      [
        ['gateway.rate_limit.requests_per_second', 'must be greater than 0', 'sustained requests per second each client may make, e.g. `requests_per_second: 10`'],
        ['gateway.rate_limit.burst', 'must be at least 1', 'requests a client may make at once before the rate applies, e.g. `burst: 25`'],
        ['models[0].limits.rate_limit.requests_per_second', 'must be greater than 0', 'sustained requests per second each client may make, e.g. `requests_per_second: 10`'],
      ],
    );
  });

  test('schema errors of every kind come with one', () => {
    const issues = invalid(yaml('gateway:', '  port: 0', '  request_timeout: soon', 'models:', '  - name: a', '    gpus: [0]', '    replicas: 0', '    shm_size: -1'));
    for (const issue of issues) assert.ok(issue.hint, `${issue.path}: ${issue.message} has no hint`);
    assert.equal(issueAt(issues, 'models[0].model_id').hint, 'Hugging Face model id (or a folder inside the container), e.g. `model_id: NousResearch/Hermes-2-Pro-Llama-3-8B`');
  });
});

describe('several problems in one model', () => {
  test('are all reported: schema errors do not hide the rules across keys', () => {
    const issues = invalid(yaml('models:', '  - name: v1', '    model_id: org/model', '    gpus: [0]', '    pull: sometimes', '    dtype: float16', '    quantize: awq', '    env: { MAX_TOTAL_TOKENS: "5" }'));
    assert.deepEqual(issues.map((i) => i.path), ['models[0].name', 'models[0].pull', 'models[0].dtype', 'models[0].env.MAX_TOTAL_TOKENS']);
  });

  test('a setting that cannot be read is not replaced by its default in other rules', () => {
    // runtime unreadable: no "command needs runtime: process" on top of it, and no placement.
    const issues = invalid(yaml('models:', ...model('a'), '    runtime: proces', '    command: tgi', ...model('b')));
    assert.deepEqual(issues.map((i) => i.path), ['models[0].runtime']);
    // max_input_tokens unreadable: the one from defaults is not compared with the model's max_total_tokens.
    const tokens = invalid(yaml('defaults: { max_input_tokens: 8000 }', 'models:', ...model('a'), '    max_input_tokens: lots', '    max_total_tokens: 4096'));
    assert.deepEqual(tokens.map((i) => i.path), ['models[0].max_input_tokens']);
  });

  test('a bad gateway key does not hide the models\' problems', () => {
    const issues = invalid(yaml('gateway:', '  port: 0', 'models:', ...model('metrics')));
    assert.deepEqual(issues.map((i) => i.path), ['gateway.port', 'models[0].name']);
  });
});

describe('problems of the host, not of the file', () => {
  test('a GPU the host lacks is marked as the host\'s, and the headline does not call the file invalid', () => {
    const issues = invalid(yaml('models:', ...model('a', '[7]')), { gpus: h100s() });
    assert.equal(issues[0].kind, 'host');
    assert.equal(rejectionHeadline('models.yaml', issues), 'models.yaml cannot run on this host');
    const both = invalid(yaml('models:', ...model('a', '[7]'), ...model('v1', '[0]')), { gpus: h100s() });
    assert.equal(rejectionHeadline('models.yaml', both), 'models.yaml is invalid');
  });
});

describe('files', () => {
  const fixture = fileURLToPath(new URL('../fixtures/config/missing-gpu.yaml', import.meta.url));

  test('a GPU the host does not have, formatted as one line per issue', async () => {
    const result = await loadConfig(fixture, { gpus: h100s() });
    assert.ok(!result.ok);
    const [issue] = result.issues;
    assert.deepEqual([issue.line, issue.column, issue.path], [8, 12, 'models[1].gpus[0]']);
    assert.equal(issue.message, 'GPU 7 does not exist (this host has GPUs 0-3)');
    assert.equal(formatIssues(result.issues), `${issue.file}:8:12 models[1].gpus[0]: GPU 7 does not exist (this host has GPUs 0-3) — hint: ${issue.hint}`);
    assert.match(issue.file, /missing-gpu\.yaml$/);
  });

  test('without an inventory GPU existence is not checked', async () => {
    const result = await loadConfig(fixture, {});
    assert.ok(result.ok);
    assert.deepEqual(result.config.deployments.map((d) => d.key), ['hermes-2-pro-tgi/gpu0', 'llava-v1.6-mistral-7b-tgi/gpu7']);
  });

  test('a missing file is an issue with a hint, not an exception', async () => {
    const result = await loadConfig('no-such-models.yaml');
    assert.ok(!result.ok);
    assert.equal(result.issues[0].file, 'no-such-models.yaml');
    assert.match(result.issues[0].message, /no such file/);
    assert.match(result.issues[0].hint!, /npm run up -- --config FILE/);
    assert.equal(formatIssues(result.issues).split('\n').length, 1);
  });
});
