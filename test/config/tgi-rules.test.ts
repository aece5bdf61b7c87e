import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LAUNCHER_FLAGS, flagOfEnv, launcherFlag } from '../../orchestrator/config/launcher-flags.ts';
import { invalid, issueAt, valid, yaml } from './support.ts';

// models.yaml refuses what TGI 3.3.6 would refuse at start. Each rule names the TGI source it follows
// (tag v3.3.6 of huggingface/text-generation-inference); docs/tgi-contract.md lists them all.

/** One docker model `a` on GPU 0 with more settings, each line indented under it. */
const model = (...more: string[]) => ['models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', ...more.map((line) => `    ${line}`)];

describe('the flag table (launcher/src/main.rs struct Args)', () => {
  test('every flag reads the environment variable named after it, except --env (#[clap(long, short, action)])', () => {
    for (const [name, flag] of Object.entries(LAUNCHER_FLAGS)) {
      assert.equal((flag as { env?: string }).env, name === 'env' ? undefined : name.toUpperCase(), name);
    }
    assert.equal(flagOfEnv('MAX_TOTAL_TOKENS')?.name, 'max_total_tokens');
    assert.equal(launcherFlag('max-top-n-tokens')?.name, 'max_top_n_tokens');
    assert.equal(Object.keys(LAUNCHER_FLAGS).length, 54);
  });
});

describe('value sets', () => {
  test('quantize: the Quantization enum of launcher/src/main.rs (kebab case), with hints for names it lacks', () => {
    for (const method of ['awq', 'compressed-tensors', 'eetq', 'exl2', 'gptq', 'marlin', 'bitsandbytes', 'bitsandbytes-nf4', 'bitsandbytes-fp4', 'fp8']) valid(yaml(...model(`quantize: ${method}`)));
    assert.equal(issueAt(invalid(yaml(...model('quantize: bitsandbytes_nf4'))), 'models[0].quantize').hint, 'did you mean `bitsandbytes-nf4`?');
    assert.match(issueAt(invalid(yaml(...model('quantize: int8'))), 'models[0].quantize').hint!, /eetq/);
  });

  test('dtype: float16 or bfloat16 (launcher/src/main.rs enum Dtype)', () => {
    valid(yaml(...model('dtype: float16')));
    valid(yaml(...model('dtype: bfloat16')));
    assert.equal(issueAt(invalid(yaml(...model('dtype: fp16'))), 'models[0].dtype').hint, 'write `float16`');
    assert.match(issueAt(invalid(yaml(...model('dtype: float32'))), 'models[0].dtype').hint!, /only float16 or bfloat16/);
  });

  test('kv_cache_dtype: fp8_e4m3fn or fp8_e5m2, no plain fp8 (launcher/src/main.rs enum KVCacheDtype)', () => {
    valid(yaml(...model('kv_cache_dtype: fp8_e4m3fn')));
    valid(yaml(...model('kv_cache_dtype: fp8_e5m2')));
    const issue = issueAt(invalid(yaml(...model('kv_cache_dtype: fp8'))), 'models[0].kv_cache_dtype');
    assert.equal(issue.message, '"fp8" is not one of `fp8_e4m3fn`, `fp8_e5m2`');
    assert.match(issue.hint!, /write `fp8_e4m3fn`/);
  });

  test('rope_scaling: linear or dynamic (launcher/src/main.rs enum RopeScaling)', () => {
    valid(yaml(...model('rope_scaling: linear', 'rope_factor: 2.0')));
    assert.match(issueAt(invalid(yaml(...model('rope_scaling: yarn'))), 'models[0].rope_scaling').message, /not one of `linear`, `dynamic`/);
  });

  test('usage-stats in launcher_args: on, off or no-stack (launcher/src/main.rs enum UsageStatsLevel)', () => {
    for (const level of ['on', 'off', 'no-stack']) valid(yaml(...model(`launcher_args: { usage-stats: ${level} }`)));
    assert.match(issueAt(invalid(yaml(...model('launcher_args: { usage-stats: never }'))), 'models[0].launcher_args.usage-stats').message, /not one of `on`, `off`, `no-stack`/);
  });

  test('launcher_args values are checked against the flag: validation_workers > 0 (launcher/src/main.rs main()), a number for a number', () => {
    const zero = issueAt(invalid(yaml(...model('launcher_args: { validation-workers: 0 }'))), 'models[0].launcher_args.validation-workers');
    assert.equal(zero.message, 'must be at least 1');
    assert.match(zero.hint!, /tokenizer workers/);
    assert.equal(issueAt(invalid(yaml(...model('launcher_args: { max_top_n_tokens: many }'))), 'models[0].launcher_args.max_top_n_tokens').message, 'expected a whole number');
    assert.equal(issueAt(invalid(yaml(...model('launcher_args: { json-output: "yes" }'))), 'models[0].launcher_args.json-output').message, 'expected true or false');
  });

  test('max_batch_size > 0 (backends/v3/src/main.rs main())', () => {
    assert.equal(issueAt(invalid(yaml(...model('max_batch_size: 0'))), 'models[0].max_batch_size').message, 'must be at least 1');
  });
});

describe('launcher_args flags', () => {
  test('a flag the launcher does not have is refused, with the closest one (clap rejects unknown arguments)', () => {
    const issue = issueAt(invalid(yaml(...model('launcher_args:', '  max-top-tokens: 5'))), 'models[0].launcher_args.max-top-tokens');
    assert.deepEqual([issue.line, issue.column], [6, 7]);
    assert.equal(issue.message, "TGI 3.3.6's launcher has no flag --max-top-tokens");
    assert.equal(issue.hint, 'did you mean `max-top-n-tokens`?');
  });

  test('a request parameter is not a flag', () => {
    assert.match(issueAt(invalid(yaml(...model('launcher_args: { max-new-tokens: 5 }'))), 'models[0].launcher_args.max-new-tokens').hint!, /request parameter.*max_total_tokens/);
  });

  test('the same flag twice, snake and kebab', () => {
    const issue = issueAt(invalid(yaml(...model('launcher_args: { max-top-n-tokens: 5, max_top_n_tokens: 6 }'))), 'models[0].launcher_args.max-top-n-tokens');
    assert.equal(issue.message, '--max-top-n-tokens is given twice (also as `max_top_n_tokens`)');
  });

  test('max_input_length is refused: the legacy name of max_input_tokens (launcher/src/main.rs main() refuses both)', () => {
    assert.match(issueAt(invalid(yaml(...model('launcher_args: { max-input-length: 10 }'))), 'models[0].launcher_args.max-input-length').hint!, /write `max_input_tokens`/);
  });

  test('api_key is refused: TGI would answer 401 to the gateway (router/src/server.rs start())', () => {
    assert.match(issueAt(invalid(yaml(...model('launcher_args: { api-key: secret }'))), 'models[0].launcher_args.api-key').hint!, /401/);
  });

  test('ngrok is refused: the 3.3.6 router panics with it (router/src/server.rs start())', () => {
    assert.match(issueAt(invalid(yaml(...model('launcher_args: { ngrok: true }'))), 'models[0].launcher_args.ngrok').hint!, /panics/);
  });

  test('flags the orchestrator sets (--port, --hostname, --sharded) are refused', () => {
    for (const flag of ['port', 'hostname', 'sharded', 'model-id']) {
      assert.match(issueAt(invalid(yaml(...model(`launcher_args: { ${flag}: 1 }`))), `models[0].launcher_args.${flag}`).message, /cannot be set in launcher_args/, flag);
    }
  });
});

describe('settings TGI refuses together', () => {
  test('max_total_tokens above max_batch_total_tokens is an error (launcher/src/main.rs main())', () => {
    const issue = issueAt(invalid(yaml(...model('max_total_tokens: 4096', 'max_batch_total_tokens: 2048'))), 'models[0].max_batch_total_tokens');
    assert.equal(issue.message, 'max_batch_total_tokens (2048) must be at least max_total_tokens (4096)');
    valid(yaml(...model('max_total_tokens: 4096', 'max_batch_total_tokens: 4096')));
  });

  test('max_batch_prefill_tokens below max_input_tokens is a warning: refused only without chunked prefill (backends/v3/src/main.rs main())', () => {
    const { warnings } = valid(yaml(...model('max_input_tokens: 4000', 'max_total_tokens: 8000', 'max_batch_prefill_tokens: 2048')));
    assert.equal(issueAt(warnings, 'models[0].max_batch_prefill_tokens').message, 'max_batch_prefill_tokens (2048) is below max_input_tokens (4000): TGI refuses to start unless the model supports chunked prefill');
  });

  test('max_batch_prefill_tokens above max_batch_total_tokens is a warning: Flash Attention models infer their own total (backends/v3/src/main.rs main(), lib.rs connect_backend())', () => {
    const { warnings } = valid(yaml(...model('max_batch_prefill_tokens: 8192', 'max_batch_total_tokens: 4096')));
    assert.match(issueAt(warnings, 'models[0].max_batch_prefill_tokens').message, /above max_batch_total_tokens \(4096\)/);
  });

  test('dtype with a quantize other than bitsandbytes is an error (server/text_generation_server/cli.py serve())', () => {
    const issue = issueAt(invalid(yaml(...model('dtype: bfloat16', 'quantize: awq'))), 'models[0].dtype');
    assert.equal(issue.message, 'dtype (bfloat16) cannot go with quantize: awq');
    for (const method of ['bitsandbytes', 'bitsandbytes-nf4', 'bitsandbytes-fp4']) valid(yaml(...model('dtype: bfloat16', `quantize: ${method}`)));
  });

  test('dtype in defaults and quantize on a model point at the model (cli.py serve())', () => {
    const issues = invalid(yaml('defaults:', '  dtype: float16', ...model('quantize: gptq')));
    assert.equal(issueAt(issues, 'models[0].quantize').line, 7);
  });

  test('dtype on a model whose id names a quantization is a warning: TGI takes quantize from config.json (launcher/src/main.rs main(), cli.py serve())', () => {
    const { warnings } = valid(yaml('models:', '  - name: a', '    model_id: TheBloke/Mistral-7B-Instruct-v0.2-AWQ', '    gpus: [0]', '    dtype: float16'));
    assert.match(issueAt(warnings, 'models[0].dtype').message, /looks pre-quantized/);
    assert.deepEqual(valid(yaml(...model('dtype: float16'))).warnings, []);
  });

  test('exl2 on a sharded replica is an error (launcher/src/main.rs main(), models/__init__.py get_model())', () => {
    const issue = issueAt(invalid(yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [2, [0, 1]]', '    quantize: exl2')), 'models[0].gpus[1]');
    assert.match(issue.message, /exl2 quantization cannot be sharded/);
    valid(yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0, 1]', '    quantize: exl2'));
  });

  test('kv_cache_dtype fp8_e5m2 on AMD is an error (server/text_generation_server/layers/attention/kv_cache.py KVCache)', () => {
    assert.match(issueAt(invalid(yaml(...model('accelerator: amd', 'kv_cache_dtype: fp8_e5m2'))), 'models[0].kv_cache_dtype').message, /not supported on AMD ROCm/);
    valid(yaml(...model('accelerator: amd', 'kv_cache_dtype: fp8_e4m3fn')));
  });

  test('a LoRA adapter with two @ is an error (launcher/src/main.rs main())', () => {
    assert.match(issueAt(invalid(yaml(...model('lora_adapters: org/a,org/b@v1@v2'))), 'models[0].lora_adapters').message, /`org\/b@v1@v2` is not a LoRA adapter TGI can read/);
    valid(yaml(...model('lora_adapters: org/a,org/b@v1,local=/data/lora')));
  });
});

describe("values the image's entrypoint would mangle (tgi-entrypoint.sh: exec text-generation-launcher $@, unquoted)", () => {
  test('a launcher_args value with a space is refused, pointing to the environment', () => {
    const issue = issueAt(invalid(yaml(...model('launcher_args:', '  otlp-service-name: "my service"'))), 'models[0].launcher_args.otlp-service-name');
    assert.deepEqual([issue.line, issue.column], [6, 26]);
    assert.match(issue.message, /would not reach TGI intact.*splits it at the whitespace/);
    assert.equal(issue.hint, 'set it through the environment instead, which the launcher reads as it is: `env: { OTLP_SERVICE_NAME: "my service" }`');
  });

  test('glob characters in a value are refused; in defaults, reported once', () => {
    const issues = invalid(yaml('defaults:', '  revision: "v1.*"', ...model(), '  - name: b', '    model_id: org/model', '    gpus: [1]'));
    assert.match(issueAt(issues, 'defaults.revision').message, /may expand `\*` to file names/);
  });

  test('lora_adapters separated by ", " are refused with the fix', () => {
    assert.equal(issueAt(invalid(yaml(...model('lora_adapters: "org/a, org/b"'))), 'models[0].lora_adapters').hint, 'separate the adapters with commas only, without spaces');
  });

  test('a model_id with a space', () => {
    assert.match(issueAt(invalid(yaml('models:', '  - name: a', '    model_id: /models/my model', '    gpus: [0]')), 'models[0].model_id').message, /would not reach TGI intact/);
  });

  test('not checked where no shell is in between: runtime process, the Intel image (Dockerfile_intel ENTRYPOINT)', () => {
    valid(yaml(...model('runtime: process', 'command: text-generation-launcher', 'launcher_args: { otlp-service-name: "my service" }')));
    valid(yaml(...model('accelerator: intel', 'launcher_args: { otlp-service-name: "my service" }')));
  });
});

describe('environment variables that are launcher flags (launcher/src/main.rs Args: #[clap(long, env)])', () => {
  test('one with a models.yaml key is refused, naming the key', () => {
    const issue = issueAt(invalid(yaml(...model('env:', '  MAX_TOTAL_TOKENS: "4096"'))), 'models[0].env.MAX_TOTAL_TOKENS');
    assert.deepEqual([issue.line, issue.column], [6, 7]);
    assert.equal(issue.message, "MAX_TOTAL_TOKENS is TGI's --max-total-tokens, which models.yaml sets as `max_total_tokens`");
    assert.match(issue.hint!, /write `max_total_tokens: 4096`/);
  });

  test('one the orchestrator sets, or that breaks TGI behind the gateway, is refused', () => {
    for (const variable of ['PORT', 'HOSTNAME', 'MODEL_ID', 'NUM_SHARD', 'SHARDED', 'API_KEY', 'NGROK']) {
      assert.match(issueAt(invalid(yaml(...model(`env: { ${variable}: "x" }`))), `models[0].env.${variable}`).message, /which cannot be set here/, variable);
    }
  });

  test('one for a launcher_args flag is a warning naming launcher_args, unless its value needs the environment (spaces)', () => {
    const { warnings } = valid(yaml(...model('env: { MAX_TOP_N_TOKENS: "10", OTLP_SERVICE_NAME: "my service" }')));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].path, 'models[0].env.MAX_TOP_N_TOKENS');
    assert.match(warnings[0].hint!, /launcher_args: \{ max-top-n-tokens: 10 \}/);
  });

  test("a value clap would refuse is an error: a switch takes true or false (clap 4.5's bool parser)", () => {
    assert.match(issueAt(invalid(yaml(...model('env: { JSON_OUTPUT: "1" }'))), 'models[0].env.JSON_OUTPUT').message, /takes `true` or `false`/);
    assert.match(issueAt(invalid(yaml(...model('env: { MAX_TOP_N_TOKENS: "-1" }'))), 'models[0].env.MAX_TOP_N_TOKENS').message, /takes a whole number/);
  });

  test('USAGE_STATS is meant to be set in env: no warning, but only on, off or no-stack (router/src/usage_stats.rs)', () => {
    assert.deepEqual(valid(yaml(...model('env: { USAGE_STATS: "no-stack" }'))).warnings, []);
    assert.match(issueAt(invalid(yaml(...model('env: { USAGE_STATS: "disabled" }'))), 'models[0].env.USAGE_STATS').message, /takes `on`, `off`, `no-stack`/);
  });

  test('in defaults too, and the GPU pinning variables stay refused', () => {
    assert.ok(issueAt(invalid(yaml('defaults:', '  env: { QUANTIZE: awq }', ...model())), 'defaults.env.QUANTIZE'));
    assert.ok(issueAt(invalid(yaml(...model('env: { NVIDIA_VISIBLE_DEVICES: "1" }'))), 'models[0].env.NVIDIA_VISIBLE_DEVICES'));
  });
});
