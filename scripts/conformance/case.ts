// One conformance case: a request with its expected answer, and the contract section it checks.
import type { Context } from './context.ts';

export interface Case {
  /** The heading of docs/tgi-contract.md the rule comes from. */
  section: string;
  name: string;
  /** Resolves when the server answers as the contract says; throws Differ (or Skip) otherwise. */
  run(ctx: Context): Promise<void>;
}

/** Cases of one section. */
export function section(name: string, cases: Record<string, Case['run']>): Case[] {
  return Object.entries(cases).map(([caseName, run]) => ({ section: name, name: caseName, run }));
}
