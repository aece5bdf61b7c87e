// Every conformance case, in the order of docs/tgi-contract.md.
import type { Case } from '../case.ts';
import { generationCases } from './generation.ts';
import { grammarCases } from './grammar.ts';
import { infoCases, metricsCases } from './info-and-metrics.ts';
import { openAiCases } from './openai.ts';
import { routeCases } from './routes.ts';
import { streamingCases } from './streaming.ts';
import { validationCases } from './validation.ts';

export const CASES: Case[] = [...routeCases, ...validationCases, ...generationCases, ...streamingCases, ...openAiCases, ...grammarCases, ...infoCases, ...metricsCases];
