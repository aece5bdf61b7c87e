// docs/tgi-contract.md "/info" (router/src/lib.rs Info) and "Metrics" (the tgi_* series, their
// types and labels; no _total suffix).
import { call, post } from '../client.ts';
import { section } from '../case.ts';
import { contractMetrics } from '../contract-metrics.ts';
import { check, json, same, status } from '../expect.ts';

const INFO_KEYS = [
  'model_id', 'model_sha', 'model_pipeline_tag', 'max_concurrent_requests', 'max_best_of', 'max_stop_sequences', 'max_input_tokens',
  'max_total_tokens', 'validation_workers', 'max_client_batch_size', 'router', 'version', 'sha', 'docker_label',
];

export const infoCases = section('`/info`', {
  'GET /info: every Info key, with its type': async ({ target }) => {
    const answer = await call(target, '/info');
    status(answer, 200);
    const info = json(answer);
    same(Object.keys(info).slice(0, INFO_KEYS.length), INFO_KEYS, 'keys, in order');
    for (const key of ['max_concurrent_requests', 'max_best_of', 'max_stop_sequences', 'max_input_tokens', 'max_total_tokens', 'validation_workers', 'max_client_batch_size']) {
      check(Number.isInteger(info[key]), `${key} is an integer`);
    }
    for (const key of ['model_sha', 'model_pipeline_tag', 'sha', 'docker_label']) check(info[key] === null || typeof info[key] === 'string', `${key} is a string or null`);
    same(info.router, 'text-generation-router', 'router');
    check(/^3\.3\./.test(info.version), `version ${info.version} (the contract is TGI 3.3)`);
    check(info.max_input_tokens < info.max_total_tokens, 'max_input_tokens < max_total_tokens');
  },
});

/** name{labels} value lines and # TYPE lines of a Prometheus text exposition. */
function parseExposition(text: string): { types: Map<string, string>; samples: Array<{ name: string; labels: Record<string, string> }> } {
  const types = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string> }> = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (sample) samples.push({ name: sample[1], labels: Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])) });
  }
  return { types, samples };
}

function baseName(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  return name;
}

export const metricsCases = section('Metrics', {
  'GET /metrics: only the contract\'s tgi_* series, with their types and labels, no _total': async ({ target }) => {
    await post(target, '/generate', { inputs: 'Count me', parameters: { max_new_tokens: 2 } });
    const answer = await call(target, '/metrics');
    status(answer, 200);
    check((answer.headers.get('content-type') ?? '').startsWith('text/plain'), `content-type ${answer.headers.get('content-type')}`);
    const contract = new Map(contractMetrics().map((m) => [m.name, m]));
    const { types, samples } = parseExposition(answer.text);
    for (const [name, type] of types) {
      if (!name.startsWith('tgi_')) continue;
      const expected = contract.get(name);
      check(expected, `${name} is not a series TGI exports`);
      same(type, expected.type, `type of ${name}`);
    }
    for (const sample of samples) {
      if (!sample.name.startsWith('tgi_')) continue;
      check(!sample.name.endsWith('_total'), `${sample.name} has a _total suffix`);
      const expected = contract.get(baseName(sample.name, types));
      check(expected, `${sample.name} is not a series TGI exports`);
      for (const [label, value] of Object.entries(sample.labels)) {
        if (label === 'le' || label === 'quantile') continue;
        const values = expected.labels[label];
        check(values !== undefined, `${sample.name} has a label ${label} the contract does not list`);
        if (values.length > 0) check(values.includes(value), `${sample.name}{${label}="${value}"}: not a value the contract lists`);
      }
    }
    for (const name of ['tgi_request_count', 'tgi_request_success', 'tgi_request_duration', 'tgi_batch_current_size']) check(types.has(name), `${name} is missing after a request`);
  },

  'a validation error counts in tgi_request_failure{err="validation"}': async ({ target }) => {
    const read = async () => {
      const line = (await call(target, '/metrics')).text.split('\n').find((l) => l.startsWith('tgi_request_failure{err="validation"} '));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const before = await read();
    await post(target, '/generate', { inputs: 'x', parameters: { temperature: 0 } });
    const increase = (await read()) - before;
    check(increase >= 1, `tgi_request_failure{err="validation"} rose by ${increase}`);
  },
});
