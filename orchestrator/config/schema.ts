import { isIP } from 'node:net';
import { z } from 'zod';
import { splitCommand } from './argv.ts';
import { ENGINES } from './engines.ts';
import { ARGS_FLAGS, KEY_FLAGS, LAUNCHER_FLAGS, flagSpelling, type FlagName, type KeyFlagName, type LauncherFlag } from './launcher-flags.ts';
import { parseDuration, parseSize } from './units.ts';

// The shape of models.yaml as written (after ${VAR} expansion). Every object is strict: an unknown key
// is an error (zod-issues.ts adds a "did you mean" hint). Durations and sizes come out as milliseconds and
// bytes. Every key carries a description and an example: models.schema.json shows them in editors and
// zod-issues.ts turns them into the hint of an error. Cross-field rules (names, GPUs, TGI's own checks)
// live in validate.ts, tgi-rules.ts and placement.ts.

/** A description and an example for editors (models.schema.json) and for error hints. */
const about = <T extends z.ZodType>(schema: T, description: string, example?: unknown): T =>
  schema.meta(example === undefined ? { description } : { description, examples: [example] }) as T;

const wholeNumber = (min: number, max?: number) => {
  const atLeast = z.int({ error: 'expected a whole number' }).min(min, { error: min === 0 ? 'must be 0 or more' : `must be at least ${min}` });
  return max === undefined ? atLeast : atLeast.max(max, { error: `must be at most ${max}` });
};
const positiveNumber = z.number({ error: 'expected a number' }).positive({ error: 'must be greater than 0' });
const nonNegativeNumber = z.number({ error: 'expected a number' }).min(0, { error: 'must be 0 or more' });

/** What parseDuration and parseSize read, for editors; the transforms below have the last word. */
const DURATION_TEXT = /^\s*\d+(\.\d+)?\s*([mM][sS]|[sSmMhH])?\s*$/;
const SIZE_TEXT = /^\s*\d+(\.\d+)?\s*([kKmMgGtT]([iI]?[bB])?|[bB])?\s*$/;

function duration({ allowZero }: { allowZero: boolean }) {
  const expected = `expected a duration like 30s, 500ms, 2m, 1h or a number of seconds${allowZero ? '' : ' greater than 0'}`;
  const unreadable = (issue: { input?: unknown }) => `${JSON.stringify(issue.input)}: ${expected}`;
  return z
    .union([z.number().min(0, { error: unreadable }), z.string().regex(DURATION_TEXT, { error: unreadable })], { error: expected })
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined || (!allowZero && ms === 0)) {
        ctx.issues.push({ code: 'custom', message: unreadable({ input: value }), input: value });
        return z.NEVER;
      }
      return ms;
    });
}

function size() {
  const expected = 'expected a size greater than 0 like 1g, 512m, 2mb or a number of bytes';
  const unreadable = (issue: { input?: unknown }) => `${JSON.stringify(issue.input)}: ${expected}`;
  return z
    .union([z.int().min(1, { error: unreadable }), z.string().regex(SIZE_TEXT, { error: unreadable })], { error: 'expected a size like 1g, 512m, 2mb or a number of bytes' })
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (!bytes) {
        ctx.issues.push({ code: 'custom', message: unreadable({ input: value }), input: value });
        return z.NEVER;
      }
      return bytes;
    });
}

const text = z.string({ error: 'expected text' }).min(1, { error: 'must not be empty' });
const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });

/** The models.yaml form of one launcher flag's value (the flag table says what TGI takes). */
export function flagValueSchema(flag: LauncherFlag): z.ZodType {
  const type = flag.type;
  switch (type.kind) {
    case 'integer':
      return wholeNumber(type.min, type.max);
    case 'number': {
      const number = type.positive ? positiveNumber : z.number({ error: 'expected a number' });
      return type.max === undefined ? number : number.max(type.max, { error: `must be at most ${type.max}` });
    }
    case 'boolean':
    case 'boolean-value':
      return z.boolean({ error: 'expected true or false' });
    case 'enum':
      return z.enum(type.values as [string, ...string[]]);
    case 'text':
      return text;
    case 'integers':
      return z
        .union([z.literal(0), z.array(wholeNumber(1)).min(1)], { error: 'expected a list of batch sizes like [1, 2, 4, 8], or 0 to disable CUDA graphs' })
        .transform((value) => (Array.isArray(value) ? value.join(',') : '0'));
    case 'size':
      return size();
  }
}

function describedFlag(name: FlagName): z.ZodType {
  const flag: LauncherFlag = LAUNCHER_FLAGS[name];
  const tgiDefault = flag.default ? `; TGI's default: ${flag.default}` : '';
  return about(flagValueSchema(flag), `${flag.summary} (TGI ${flagSpelling(name)}${tgiDefault})`, flag.example);
}

/** What each first-class launcher key holds once parsed. */
type KeyFlagValue<N extends KeyFlagName> = (typeof LAUNCHER_FLAGS)[N]['type'] extends infer T
  ? T extends { kind: 'enum'; values: readonly (infer V)[] } ? V
  : T extends { kind: 'boolean' | 'boolean-value' } ? boolean
  : T extends { kind: 'text' | 'integers' } ? string
  : number
  : never;

/** TGI launcher settings written as first-class keys (the launcher's flags in snake case). */
export const launcherShape = Object.fromEntries(KEY_FLAGS.map((name) => [name, describedFlag(name)])) as unknown as {
  [N in KeyFlagName]: z.ZodType<KeyFlagValue<N>>;
};
export const LAUNCHER_KEYS = KEY_FLAGS;

const optionalLauncherShape = Object.fromEntries(Object.entries(launcherShape).map(([key, schema]) => [key, schema.optional()])) as {
  [K in keyof typeof launcherShape]: z.ZodOptional<(typeof launcherShape)[K]>;
};

/**
 * `launcher_args`: the flags without a key of their own, snake or kebab case, validated against the flag
 * table. Any other key is let through here and reported by tgi-rules.ts (unknown flag, a flag with
 * its own key, a flag the orchestrator sets), which knows what to say about it.
 */
const launcherArgsSchema = about(
  z
    .object(Object.fromEntries(ARGS_FLAGS.flatMap((name) => [...new Set([name, name.replaceAll('_', '-')])].map((spelling) => [spelling, describedFlag(name).optional()]))))
    .catchall(scalar),
  'any other TGI launcher flag, snake or kebab case, passed as --flag value (true: a bare flag)',
  { 'max-top-n-tokens': 10 },
);

const simulatorSchema = about(
  z.strictObject({
    load_seconds: about(nonNegativeNumber, 'seconds during which nothing listens, like TGI loading weights', 2).optional(),
    tokens_per_second: about(nonNegativeNumber, 'streaming rate (0 = as fast as possible)', 30).optional(),
    crash_after_requests: about(wholeNumber(1), 'crash after this many requests (for tests)', 5).optional(),
    crash_on_load: about(z.boolean(), 'crash while loading (for tests)', true).optional(),
    hang: about(z.boolean(), 'never answer requests (for tests)', true).optional(),
  }),
  'knobs of the built-in TGI simulator (runtime: simulator, and the tgi-sim image)',
);

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'an environment variable name is letters, digits and _' });

/** Settings a model may take from `defaults`. */
const deploymentSettings = {
  engine: about(z.enum(ENGINES), 'the inference server: tgi (default), vllm or sglang (docs/engines.md)', 'vllm').optional(),
  image: about(text, 'container image (default: TGI 3.3.6 for the accelerator)', 'ghcr.io/huggingface/text-generation-inference:3.3.6').optional(),
  pull: about(z.enum(['missing', 'always', 'never']), 'when to pull the image: missing (when absent), always, never', 'missing').optional(),
  accelerator: about(z.enum(['nvidia', 'amd', 'intel']), 'GPU vendor: nvidia, amd (ROCm image) or intel (XPU image)', 'nvidia').optional(),
  runtime: about(z.enum(['docker', 'process', 'simulator']), 'docker (a TGI container), process (spawn `command`) or simulator (built-in TGI stand-in, no GPU)', 'docker').optional(),
  shm_size: about(size(), '/dev/shm of each container; sharded replicas need it for NCCL', '1g').optional(),
  load_timeout: about(duration({ allowZero: false }), 'how long loading may go without progress (no new launcher log line) before the attempt fails', '30m').optional(),
  env: about(
    z.record(envName, scalar.transform(String)),
    'environment of the server; a value that expands to nothing is left out. Not for launcher flags: write those as keys or under launcher_args',
    { HF_TOKEN: '${HF_TOKEN}' },
  ).optional(),
  simulator: simulatorSchema.optional(),
  launcher_args: launcherArgsSchema.optional(),
  ...optionalLauncherShape,
};

const rateLimitFields = {
  requests_per_second: about(positiveNumber, 'sustained requests per second each client may make', 10).optional(),
  burst: about(wholeNumber(1), 'requests a client may make at once before the rate applies', 25).optional(),
};
const rateLimitSchema = about(z.strictObject(rateLimitFields), 'token bucket per client (token + address) per deployment', { requests_per_second: 10, burst: 25 });
const maxConcurrentRequests = about(wholeNumber(1), 'requests in flight per deployment; beyond it the gateway answers 429', 100);
const requestTimeout = about(duration({ allowZero: false }), 'limit of a non-streaming request; for streams, the longest silence between events', '30s');
const queueTimeout = about(duration({ allowZero: true }), 'how long a request waits for a free slot when every ready replica of its model is full; 0 answers 429 at once', '30s');
const queueMax = about(wholeNumber(1), "requests that may wait per model; beyond it 429 at once (default 4 × the model's total max_concurrent_requests)", 400);

const redisUrl = z
  .string({ error: 'expected a Redis URL like redis://127.0.0.1:6379' })
  .regex(/^rediss?:\/\/[^\s]+$/, { error: 'expected a Redis URL like redis://127.0.0.1:6379 or rediss://user:password@host:6380/0' });
const ipOrCidr = z.string({ error: 'expected an address or CIDR like 10.0.0.0/8' }).refine(isAddressOrCidr, { error: 'expected an IPv4/IPv6 address or CIDR like 127.0.0.1, 10.0.0.0/8 or fd00::/8' });

function isAddressOrCidr(value: string): boolean {
  const [address, bits, extra] = value.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

export const gatewaySchema = about(
  z.strictObject({
    /** Which fleet this file runs (names its containers and locks); checked in validate.ts. */
    fleet: about(z.string({ error: 'expected a fleet name like prod or team-a' }), 'the fleet this file runs: a-z, 0-9 and -, at most 32', 'default').optional(),
    port: about(z.int({ error: 'expected a port number' }).min(1, { error: 'a port is 1–65535' }).max(65535, { error: 'a port is 1–65535' }), 'where the gateway listens', 8000).optional(),
    host: about(text, 'listen address; 127.0.0.1 keeps it on this machine', '0.0.0.0').optional(),
    rate_limit: rateLimitSchema.optional(),
    max_concurrent_requests: maxConcurrentRequests.optional(),
    request_timeout: requestTimeout.optional(),
    queue_timeout: queueTimeout.optional(),
    queue_max: queueMax.optional(),
    metrics_auth: about(z.boolean(), 'whether GET /metrics needs the bearer token', true).optional(),
    max_body_size: about(size(), 'largest request body the gateway accepts', '8m').optional(),
    drain_timeout: about(duration({ allowZero: true }), 'how long a removal, replacement or shutdown waits for in-flight requests', '30s').optional(),
    token_grace_period: about(duration({ allowZero: true }), 'how long the old token keeps working after a rotation', '1h').optional(),
    keys_file: about(text, 'the API keys file (`npm run keys` writes it, the gateways follow it) instead of <state dir>/keys.json; relative to this file, ~ is the home folder. Only hashes are kept in it', '/etc/tgi-fleet/keys.json').optional(),
    redis_url: about(redisUrl, 'Redis that `up`\'s gateway and its replicas (`npm run gateway`) keep rate limits, token budgets, per-key concurrency and lockouts in, so they enforce one budget; without it each gateway keeps them in memory', 'redis://127.0.0.1:6379').optional(),
    trusted_proxies: about(z.array(ipOrCidr, { error: 'expected a list of addresses or CIDRs like [127.0.0.1, 10.0.0.0/8]' }), 'reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the client; from anyone else it is ignored', ['127.0.0.1']).optional(),
    max_connections_per_client: about(wholeNumber(0), 'open connections one client address may hold; more are closed at once so one flooding address cannot starve the others (0: no cap; trusted proxies are exempt)', 256).optional(),
    auth_lockout: about(
      z.strictObject({
        failures: about(wholeNumber(1), 'wrong tokens from one address within `window` that lock it out', 10).optional(),
        window: about(duration({ allowZero: false }), 'the window the failures are counted in', '1m').optional(),
        duration: about(duration({ allowZero: false }), 'how long the address stays locked out', '5m').optional(),
      }),
      'locking out addresses that send wrong tokens',
    ).optional(),
  }),
  'the gateway in front of every deployment',
);

export const defaultsSchema = about(
  z.strictObject({
    ...deploymentSettings,
    /** Host folder with the Hugging Face cache, mounted at /data in every container. */
    hf_cache: about(text, 'host folder mounted at /data (HF_HOME) in every container (default $HF_HOME, else ~/.cache/huggingface)', '~/.cache/huggingface').optional(),
  }),
  'settings every model gets unless it sets its own (env maps are merged, the model winning)',
);

const gpuIndex = about(z.int({ error: 'a GPU index is a whole number like 0 or 3' }).min(0, { error: 'a GPU index is 0 or more' }), 'a GPU index as `nvidia-smi -L` numbers it', 0);

const gpusSchema = about(
  z.union(
    [
      z.literal('auto'),
      z
        .array(z.union([gpuIndex, z.array(gpuIndex).min(1, { error: 'a sharded replica needs at least one GPU' })], { error: 'each entry is a GPU index (0) or the GPUs of one sharded replica ([0, 1])' }))
        .min(1, { error: 'gpus is empty: list at least one GPU' }),
    ],
    { error: 'gpus is `auto` (with replicas: N) or a list: [0, 1] is one replica per GPU, [[0, 1]] one replica sharded over GPUs 0 and 1' },
  ),
  'one replica per entry: [0, 1] is two replicas, [[0, 1]] one sharded over GPUs 0 and 1; auto picks `replicas` GPUs',
  [0, 1],
);

const commandSchema = z.union([text, z.array(z.string()).min(1)], { error: 'expected a command line or a list of arguments' }).transform((value, ctx) => {
  const argv = Array.isArray(value) ? value : splitCommand(value);
  if (!argv?.length) {
    ctx.issues.push({ code: 'custom', message: 'the command has an unclosed quote', input: value });
    return z.NEVER;
  }
  return argv;
});

export const modelSchema = about(
  z.strictObject({
    name: about(z.string({ error: 'expected a name like hermes-2-pro' }), 'the route: /<name>/gpuN (1–63 of a-z 0-9 . _ -)', 'hermes-2-pro'),
    model_id: about(
      z.string({ error: 'expected a Hugging Face model id like NousResearch/Hermes-2-Pro-Llama-3-8B' }).min(1, { error: 'must not be empty' }),
      'Hugging Face model id (or a folder inside the container)',
      'NousResearch/Hermes-2-Pro-Llama-3-8B',
    ),
    gpus: gpusSchema,
    replicas: about(wholeNumber(1), 'how many GPUs `gpus: auto` picks (one replica each)', 2).optional(),
    vision: about(z.boolean(), 'accepts images: the gateway turns <image>…</image> into TGI\'s form', true).optional(),
    /** runtime: process — the command to spawn; launcher flags are appended. */
    command: about(commandSchema, 'runtime: process: the program to start (string or argv); launcher flags are appended', 'text-generation-launcher').optional(),
    /** Overrides of the gateway's limits for this model, in the gateway's shape. */
    limits: about(
      z.strictObject({
        rate_limit: rateLimitSchema.optional(),
        max_concurrent_requests: maxConcurrentRequests.optional(),
        request_timeout: requestTimeout.optional(),
        queue_timeout: queueTimeout.optional(),
        queue_max: queueMax.optional(),
        // The earlier flat form (limits: { requests_per_second, burst }), still read.
        requests_per_second: positiveNumber.meta({ description: 'earlier form of rate_limit.requests_per_second', deprecated: true }).optional(),
        burst: wholeNumber(1).meta({ description: 'earlier form of rate_limit.burst', deprecated: true }).optional(),
      }),
      "this model's overrides of the gateway limits, in the gateway's shape",
      { rate_limit: { requests_per_second: 5, burst: 10 }, max_concurrent_requests: 50 },
    ).optional(),
    ...deploymentSettings,
    // Per model only: vLLM's and SGLang's flags differ, so `defaults` could not say which engine they are for.
    engine_args: about(
      z.record(z.string(), scalar),
      "engine: vllm or sglang: any other flag of the engine's CLI, snake or kebab case, passed as --flag value (true: a bare flag)",
      { 'max-num-batched-tokens': 8192 },
    ).optional(),
  }),
  'one model: one TGI server per replica, reachable at /<name>/gpuN',
);

/** The top level; models are checked one by one with modelSchema so one bad model hides nothing else. */
export const fileSchema = z.strictObject(
  {
    gateway: gatewaySchema.nullish(),
    defaults: defaultsSchema.nullish(),
    models: about(z.array(z.unknown(), { error: 'expected a list of models under `models:`' }), 'a list of models, each with at least name, model_id and gpus'),
  },
  { error: 'models.yaml holds a map with `gateway`, `defaults` and `models`' },
);

/** The whole file in one schema, for models.schema.json (loading checks the models one by one). */
export const documentSchema = fileSchema
  .extend({ models: about(z.array(modelSchema), 'the models to serve') })
  .meta({ title: 'models.yaml', description: 'What `npm run up` runs: one TGI server per model and GPU, behind one gateway.' });

export type RawGateway = z.output<typeof gatewaySchema>;
export type RawDefaults = z.output<typeof defaultsSchema>;
export type RawModel = z.output<typeof modelSchema>;
export type RawGpus = RawModel['gpus'];
