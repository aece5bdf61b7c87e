// SIM_ENGINE picks which inference server the simulator stands in for: TGI (the default, the
// text-generation-launcher of docs/tgi-contract.md), vLLM (docs/vllm-contract.md) or SGLang
// (docs/sglang-contract.md).
export type EngineName = 'tgi' | 'vllm' | 'sglang';

export const ENGINES: readonly EngineName[] = ['tgi', 'vllm', 'sglang'];

export function chosenEngine(env: NodeJS.ProcessEnv): EngineName {
  const value = (env.SIM_ENGINE ?? '').trim().toLowerCase();
  if (value === '') return 'tgi';
  if ((ENGINES as readonly string[]).includes(value)) return value as EngineName;
  throw new Error(`SIM_ENGINE must be one of ${ENGINES.join(', ')}, not "${env.SIM_ENGINE}"`);
}
