import { GatewayError } from './errors.ts';
import { GET_ROUTE, POST_ROUTE, type AllowedMethods } from './methods.ts';
import type { DeploymentDirectory, ServedDeployment } from './types.ts';

// Maps request URLs to deployments: /<model>/<gpuLabel>/<endpoint> names one replica, /<model>/<endpoint>
// the model's balanced route. Kept as Maps (model → label → deployment), updated from the table's
// events, so a lookup is two Map reads and a few string slices.

/** What a deployment serves through the gateway (TGI's routes that clients need), and their methods. */
export const DEPLOYMENT_ENDPOINTS: ReadonlyMap<string, AllowedMethods> = new Map([
  ['/generate', POST_ROUTE],
  ['/generate_stream', POST_ROUTE],
  ['/v1/chat/completions', POST_ROUTE],
  ['/v1/completions', POST_ROUTE],
  ['/tokenize', POST_ROUTE],
  ['/info', GET_ROUTE],
  ['/health', GET_ROUTE],
  ['/v1/models', GET_ROUTE],
  ['/metrics', GET_ROUTE],
]);

const GPU_LABEL = /^gpu\d+(-\d+)*$/;

/** Where a request goes: a model, and one of its replicas unless it asked for the balanced route. */
export interface Target {
  model: string;
  /** The replica named in the request; undefined for the balanced route. */
  deployment?: ServedDeployment;
}

export interface RouteMatch extends Target {
  /** The TGI endpoint, e.g. "/generate" (no query). */
  endpoint: string;
  /** The methods the endpoint takes. */
  methods: AllowedMethods;
  /** What is requested upstream: the endpoint and the query string. */
  upstreamPath: string;
}

/** A 404 for a URL under a known model (unknown GPU label or endpoint). */
export class RouteNotFound extends GatewayError {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super(404, message);
  }
}

export class RouteIndex {
  private readonly models = new Map<string, Map<string, ServedDeployment>>();
  private readonly onAdded = (d: ServedDeployment) => this.add(d);
  private readonly onRemoved = (d: ServedDeployment) => this.remove(d);

  constructor(private readonly table: DeploymentDirectory) {
    for (const d of table.all()) this.add(d);
    table.on('added', this.onAdded);
    table.on('removed', this.onRemoved);
  }

  dispose(): void {
    this.table.off('added', this.onAdded);
    this.table.off('removed', this.onRemoved);
  }

  /**
   * undefined when the URL's first segment is no model (the request is not for a deployment);
   * RouteNotFound when it is one but the GPU label or the endpoint is unknown.
   */
  resolve(url: string): RouteMatch | RouteNotFound | undefined {
    const modelEnd = segmentEnd(url, 1);
    const model = url.slice(1, modelEnd);
    const replicas = this.models.get(model);
    if (!replicas) return undefined;

    let rest = modelEnd;
    let deployment: ServedDeployment | undefined;
    if (url.startsWith('/gpu', modelEnd)) {
      const labelEnd = segmentEnd(url, modelEnd + 1);
      const label = url.slice(modelEnd + 1, labelEnd);
      deployment = replicas.get(label);
      if (deployment) rest = labelEnd;
      else if (GPU_LABEL.test(label)) return new RouteNotFound(model, `${model} has no replica on ${label}. Valid routes: ${this.validRoutes().join(', ')}`);
    }
    const queryAt = url.indexOf('?', rest);
    const endpoint = queryAt < 0 ? url.slice(rest) : url.slice(rest, queryAt);
    const methods = DEPLOYMENT_ENDPOINTS.get(endpoint);
    if (!methods) {
      const base = deployment ? `/${deployment.key}` : `/${model}`;
      return new RouteNotFound(model, `${base}${endpoint} is not a route. ${base} serves ${[...DEPLOYMENT_ENDPOINTS.keys()].join(', ')}`);
    }
    return { model, deployment, endpoint, methods, upstreamPath: url.slice(rest) };
  }

  /**
   * The target a root OpenAI request names in its `model` field: a model name (balanced),
   * "<model>/<gpuLabel>" (that replica) or a Hugging Face model id (balanced over the model serving it).
   */
  resolveModelField(name: string): Target | undefined {
    if (this.models.has(name)) return { model: name };
    const slash = name.lastIndexOf('/');
    const deployment = slash > 0 ? this.models.get(name.slice(0, slash))?.get(name.slice(slash + 1)) : undefined;
    if (deployment) return { model: deployment.spec.model, deployment };
    const serving = this.table.all().find((d) => d.spec.modelId === name);
    return serving ? { model: serving.spec.model } : undefined;
  }

  /** Every route a client can use, for "not found" messages. */
  validRoutes(): string[] {
    return [...this.models.entries()].flatMap(([model, replicas]) => [`/${model}`, ...[...replicas.keys()].map((label) => `/${model}/${label}`)]);
  }

  /** Every model name, for "unknown model" messages. */
  modelNames(): string[] {
    return [...this.models.keys()];
  }

  private add(d: ServedDeployment): void {
    let replicas = this.models.get(d.spec.model);
    if (!replicas) this.models.set(d.spec.model, (replicas = new Map()));
    replicas.set(d.spec.gpuLabel, d);
  }

  private remove(d: ServedDeployment): void {
    const replicas = this.models.get(d.spec.model);
    if (replicas?.get(d.spec.gpuLabel) !== d) return;
    replicas.delete(d.spec.gpuLabel);
    if (replicas.size === 0) this.models.delete(d.spec.model);
  }
}

/** Index of the '/' or '?' that ends the path segment starting at `from`, or the URL's length. */
function segmentEnd(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) return i;
  }
  return url.length;
}
