// The cases of each OpenAI-compatible engine, in the order of its contract document.
import type { Case } from '../case.ts';
import type { EngineContext, OpenAiEngine } from './context.ts';
import { openAiCompletionCases, openAiErrorCases, openAiRouteCases, openAiStreamingCases } from './openai-cases.ts';
import { sglangCases } from './sglang-cases.ts';
import { vllmCases } from './vllm-cases.ts';

const SHARED = [...openAiRouteCases, ...openAiCompletionCases, ...openAiStreamingCases, ...openAiErrorCases];

export const ENGINE_CASES: Record<OpenAiEngine, Case<EngineContext>[]> = {
  vllm: [...SHARED, ...vllmCases],
  sglang: [...SHARED, ...sglangCases],
};
