import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandVariables } from '../../orchestrator/config/interpolate.ts';
import { invalid, issueAt, valid, yaml } from './support.ts';

const env = { HF_TOKEN: 'hf_abc', EMPTY: '', PORT: '9001', IMAGE: 'tgi-sim:local' };

test('the ${VAR} forms', () => {
  assert.deepEqual(expandVariables('${HF_TOKEN}', env), { value: 'hf_abc', unset: [] });
  assert.deepEqual(expandVariables('a-${MISSING}-b', env), { value: 'a--b', unset: ['MISSING'] });
  assert.deepEqual(expandVariables('${MISSING:-x:y}', env), { value: 'x:y', unset: [] });
  assert.deepEqual(expandVariables('${EMPTY:-fallback}', env), { value: 'fallback', unset: [] });
  assert.deepEqual(expandVariables('${HF_TOKEN:-fallback}', env), { value: 'hf_abc', unset: [] });
  assert.deepEqual(expandVariables('${HF_TOKEN:?needed}', env), { value: 'hf_abc', unset: [] });
  assert.deepEqual(expandVariables('${MISSING:?the model is gated}', env), { error: 'MISSING: the model is gated', hint: 'export MISSING=… before starting' });
  assert.deepEqual(expandVariables('pa$$word $HOME ${EMPTY}$', env), { value: 'pa$word $HOME $', unset: [] });
  assert.match((expandVariables('${1BAD}', env) as { error: string }).error, /not a variable reference/);
  assert.match((expandVariables('${HF_TOKEN', env) as { error: string }).error, /no closing \}/);
});

test('values in models.yaml are expanded; an unquoted number stays a number', () => {
  const text = yaml(
    'gateway:',
    '  port: ${PORT:-8000}',
    'defaults:',
    '  image: ${IMAGE:-base:1}',
    '  env: { HF_TOKEN: "${HF_TOKEN}", QUOTED: "${PORT}" }',
    'models:',
    '  - name: a',
    '    model_id: org/model',
    '    gpus: [0]',
  );
  const { config, warnings } = valid(text, { env });
  assert.deepEqual(warnings, []);
  assert.equal(config.gateway.port, 9001);
  assert.equal(config.deployments[0].image, 'tgi-sim:local');
  assert.deepEqual(config.deployments[0].env, { USAGE_STATS: 'off', HF_TOKEN: 'hf_abc', QUOTED: '9001' });
  const defaulted = valid(text, { env: { HF_TOKEN: 'hf_abc' } }).config;
  assert.equal(defaulted.gateway.port, 8000);
  assert.equal(defaulted.deployments[0].image, 'base:1');
});

test('an unset ${VAR} is a warning naming the key; ${VAR:?} an error at the value', () => {
  const text = yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', '    env:', '      HF_TOKEN: ${HF_TOKEN}', '      KEY: "${API_KEY:?set API_KEY for this model}"');
  const issue = issueAt(invalid(text, { env: {} }), 'models[0].env.KEY');
  assert.deepEqual([issue.line, issue.column, issue.message], [7, 12, 'API_KEY: set API_KEY for this model']);
  const { warnings, config } = valid(text, { env: { API_KEY: 'k' } });
  assert.deepEqual(
    warnings.map((w) => [w.line, w.column, w.path]),
    [[6, 17, 'models[0].env.HF_TOKEN']],
  );
  assert.equal(warnings[0].message, 'HF_TOKEN is not set: gated models will fail');
  assert.equal(config.deployments[0].env.HF_TOKEN, undefined);
});

describe('an env value that expands to nothing is left out of the environment', () => {
  const entry = (...env: string[]) => yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', '    env:', ...env.map((l) => `      ${l}`));

  test('unset or defaulted to empty, it is not passed as NAME=; a value written empty is', () => {
    const { config, warnings } = valid(entry('A: ${UNSET_A}', 'B: ${UNSET_B:-}', 'C: ""', 'D: x${UNSET_D}'), { env: {} });
    assert.deepEqual(config.deployments[0].env, { USAGE_STATS: 'off', C: '', D: 'x' });
    assert.deepEqual(warnings.map((w) => [w.path, w.message]), [
      ['models[0].env.A', '${UNSET_A} is not set, so A is left out of the environment'],
      ['models[0].env.D', '${UNSET_D} is not set, so it expands to an empty string'],
    ]);
  });

  test('HF_TOKEN: the note says gated models will fail, also for ${HF_TOKEN:-}; not for the simulator', () => {
    const { warnings } = valid(entry('HF_TOKEN: ${HF_TOKEN:-}'), { env: {} });
    assert.deepEqual(warnings.map((w) => w.message), ['HF_TOKEN is not set: gated models will fail']);
    assert.match(warnings[0].hint!, /export HF_TOKEN=hf_…/);
    const simulated = valid(yaml('defaults: { runtime: simulator, env: { HF_TOKEN: "${HF_TOKEN}" } }', 'models:', '  - name: a', '    model_id: org/model', '    gpus: [0]'), { env: {} });
    assert.deepEqual(simulated.warnings.map((w) => w.message), ['${HF_TOKEN} is not set, so HF_TOKEN is left out of the environment']);
  });

  test("a model's empty value leaves the one from defaults in force", () => {
    const text = yaml('defaults: { env: { HF_TOKEN: "${HF_TOKEN}" } }', 'models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', '    env: { HF_TOKEN: "${OTHER_TOKEN:-}" }');
    const { config, warnings } = valid(text, { env: { HF_TOKEN: 'hf_abc' } });
    assert.equal(config.deployments[0].env.HF_TOKEN, 'hf_abc');
    assert.deepEqual(warnings, []);
  });
});

test('a required value that expands to nothing', () => {
  const issue = issueAt(invalid(yaml('defaults:', '  image: ${IMAGE}', 'models: []'), { env: {} }), 'defaults.image');
  assert.deepEqual([issue.line, issue.column, issue.message], [2, 10, 'must not be empty']);
});

test('keys are not expanded', () => {
  const issues = invalid(yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', '    ${EXTRA}: 1'), { env: { EXTRA: 'vision' } });
  assert.equal(issueAt(issues, 'models[0].${EXTRA}').message, 'unknown key `${EXTRA}`');
});
