import { z } from 'zod';
import { splitCommand } from './argv.ts';
import { parseDuration, parseSize } from './units.ts';

// The shape of models.yaml as written (after ${VAR} expansion). Every object is strict: an unknown key
// is an error (zod-issues.ts adds a "did you mean" hint). Durations and sizes come out as milliseconds and
// bytes. Cross-field rules (names, GPUs, token limits) live in validate.ts and placement.ts.

const wholeNumber = (min: number) =>
  z.int({ error: 'expected a whole number' }).min(min, { error: min === 0 ? 'must be 0 or more' : `must be at least ${min}` });
const positiveNumber = z.number({ error: 'expected a number' }).positive({ error: 'must be greater than 0' });
const nonNegativeNumber = z.number({ error: 'expected a number' }).min(0, { error: 'must be 0 or more' });

function duration({ allowZero }: { allowZero: boolean }) {
  const expected = `expected a duration like 30s, 500ms, 2m, 1h or a number of seconds${allowZero ? '' : ' greater than 0'}`;
  return z.union([z.number(), z.string()], { error: expected }).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || (!allowZero && ms === 0)) {
      ctx.issues.push({ code: 'custom', message: `${JSON.stringify(value)}: ${expected}`, input: value });
      return z.NEVER;
    }
    return ms;
  });
}

const size = z.union([z.number(), z.string()], { error: 'expected a size like 1g, 512m, 2mb or a number of bytes' }).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (!bytes) {
    ctx.issues.push({ code: 'custom', message: `${JSON.stringify(value)}: expected a size greater than 0 like 1g, 512m, 2mb or a number of bytes`, input: value });
    return z.NEVER;
  }
  return bytes;
});

const text = z.string({ error: 'expected text' }).min(1, { error: 'must not be empty' });
const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });

const QUANTIZE_METHODS = ['awq', 'gptq', 'marlin', 'bitsandbytes', 'bitsandbytes-nf4', 'bitsandbytes-fp4', 'eetq', 'exl2', 'fp8', 'compressed-tensors'] as const;

/** TGI launcher settings written as first-class keys (snake case of the launcher's flags). */
export const launcherShape = {
  revision: text,
  quantize: z.enum(QUANTIZE_METHODS),
  dtype: z.enum(['float16', 'bfloat16']),
  trust_remote_code: z.boolean(),
  max_input_tokens: wholeNumber(1),
  max_total_tokens: wholeNumber(1),
  max_batch_prefill_tokens: wholeNumber(1),
  max_batch_total_tokens: wholeNumber(1),
  max_batch_size: wholeNumber(1),
  max_best_of: wholeNumber(1),
  max_stop_sequences: wholeNumber(0),
  max_client_batch_size: wholeNumber(1),
  max_waiting_tokens: wholeNumber(1),
  waiting_served_ratio: positiveNumber,
  cuda_memory_fraction: positiveNumber.max(1, { error: 'must be at most 1 (a fraction of the GPU memory)' }),
  /** Batch sizes to capture CUDA graphs for, or 0 to disable them. */
  cuda_graphs: z
    .union([z.literal(0), z.array(wholeNumber(1)).min(1)], { error: 'expected a list of batch sizes like [1, 2, 4, 8], or 0 to disable CUDA graphs' })
    .transform((value) => (Array.isArray(value) ? value.join(',') : '0')),
  payload_limit: size,
  speculate: wholeNumber(0),
  rope_scaling: z.enum(['linear', 'dynamic']),
  rope_factor: positiveNumber,
  kv_cache_dtype: z.enum(['fp8', 'fp8_e4m3fn', 'fp8_e5m2']),
  lora_adapters: text,
  disable_custom_kernels: z.boolean(),
};
export const LAUNCHER_KEYS = Object.keys(launcherShape) as (keyof typeof launcherShape)[];

const optionalLauncherShape = Object.fromEntries(Object.entries(launcherShape).map(([key, schema]) => [key, schema.optional()])) as {
  [K in keyof typeof launcherShape]: z.ZodOptional<(typeof launcherShape)[K]>;
};

const simulatorSchema = z.strictObject({
  load_seconds: nonNegativeNumber.optional(),
  tokens_per_second: nonNegativeNumber.optional(),
  crash_after_requests: wholeNumber(1).optional(),
  crash_on_load: z.boolean().optional(),
  hang: z.boolean().optional(),
});

/** Settings a model may take from `defaults`. */
const deploymentSettings = {
  image: text.optional(),
  pull: z.enum(['missing', 'always', 'never']).optional(),
  accelerator: z.enum(['nvidia', 'amd', 'intel']).optional(),
  runtime: z.enum(['docker', 'process', 'simulator']).optional(),
  shm_size: size.optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'an environment variable name is letters, digits and _' }), scalar.transform(String)).optional(),
  simulator: simulatorSchema.optional(),
  /** Escape hatch: any other launcher flag, snake or kebab case, e.g. `max-waiting-tokens: 20`. */
  launcher_args: z.record(z.string().regex(/^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/, { error: 'a launcher flag is lowercase words joined by - or _' }), scalar).optional(),
  ...optionalLauncherShape,
};

const rateLimitFields = {
  requests_per_second: positiveNumber.optional(),
  burst: wholeNumber(1).optional(),
};

export const gatewaySchema = z.strictObject({
  /** Which fleet this file runs (names its containers and locks); checked in validate.ts. */
  fleet: z.string({ error: 'expected a fleet name like prod or team-a' }).optional(),
  port: z.int({ error: 'expected a port number' }).min(1, { error: 'a port is 1–65535' }).max(65535, { error: 'a port is 1–65535' }).optional(),
  host: text.optional(),
  rate_limit: z.strictObject(rateLimitFields).optional(),
  max_concurrent_requests: wholeNumber(1).optional(),
  request_timeout: duration({ allowZero: false }).optional(),
  metrics_auth: z.boolean().optional(),
  max_body_size: size.optional(),
  drain_timeout: duration({ allowZero: true }).optional(),
  token_grace_period: duration({ allowZero: true }).optional(),
  auth_lockout: z
    .strictObject({ failures: wholeNumber(1).optional(), window: duration({ allowZero: false }).optional(), duration: duration({ allowZero: false }).optional() })
    .optional(),
});

export const defaultsSchema = z.strictObject({
  ...deploymentSettings,
  /** Host folder with the Hugging Face cache, mounted at /data in every container. */
  hf_cache: text.optional(),
});

const gpuIndex = z.int({ error: 'a GPU index is a whole number like 0 or 3' }).min(0, { error: 'a GPU index is 0 or more' });

const gpusSchema = z.union(
  [
    z.literal('auto'),
    z
      .array(z.union([gpuIndex, z.array(gpuIndex).min(1, { error: 'a sharded replica needs at least one GPU' })], { error: 'each entry is a GPU index (0) or the GPUs of one sharded replica ([0, 1])' }))
      .min(1, { error: 'gpus is empty: list at least one GPU' }),
  ],
  { error: 'gpus is `auto` (with replicas: N) or a list: [0, 1] is one replica per GPU, [[0, 1]] one replica sharded over GPUs 0 and 1' },
);

const commandSchema = z.union([text, z.array(z.string()).min(1)], { error: 'expected a command line or a list of arguments' }).transform((value, ctx) => {
  const argv = Array.isArray(value) ? value : splitCommand(value);
  if (!argv?.length) {
    ctx.issues.push({ code: 'custom', message: 'the command has an unclosed quote', input: value });
    return z.NEVER;
  }
  return argv;
});

export const modelSchema = z.strictObject({
  name: z.string({ error: 'expected a name like hermes-2-pro' }),
  model_id: z.string({ error: 'expected a Hugging Face model id like NousResearch/Hermes-2-Pro-Llama-3-8B' }).min(1, { error: 'must not be empty' }),
  gpus: gpusSchema,
  replicas: wholeNumber(1).optional(),
  vision: z.boolean().optional(),
  /** runtime: process — the command to spawn; launcher flags are appended. */
  command: commandSchema.optional(),
  /** Overrides of the gateway's limits for this model. */
  limits: z
    .strictObject({ ...rateLimitFields, max_concurrent_requests: wholeNumber(1).optional(), request_timeout: duration({ allowZero: false }).optional() })
    .optional(),
  ...deploymentSettings,
});

/** The top level; models are checked one by one with modelSchema so one bad model hides nothing else. */
export const fileSchema = z.strictObject(
  {
    gateway: gatewaySchema.nullish(),
    defaults: defaultsSchema.nullish(),
    models: z.array(z.unknown(), { error: 'expected a list of models under `models:`' }),
  },
  { error: 'models.yaml holds a map with `gateway`, `defaults` and `models`' },
);

export type RawGateway = z.output<typeof gatewaySchema>;
export type RawDefaults = z.output<typeof defaultsSchema>;
export type RawModel = z.output<typeof modelSchema>;
export type RawGpus = RawModel['gpus'];
