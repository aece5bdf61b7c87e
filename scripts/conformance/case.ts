// One conformance case: a request with its expected answer, and the contract section it checks.
import type { Context } from './context.ts';

export interface Case<C = Context> {
  /** The heading of the contract document (docs/tgi-contract.md, vllm-contract.md, sglang-contract.md) the rule comes from. */
  section: string;
  name: string;
  /** Resolves when the server answers as the contract says; throws Differ (or Skip) otherwise. */
  run(ctx: C): Promise<void>;
}

/** Cases of one section. */
export function section<C = Context>(name: string, cases: Record<string, Case<C>['run']>): Case<C>[] {
  return Object.entries(cases).map(([caseName, run]) => ({ section: name, name: caseName, run }));
}
