// GET /metrics: the V1 engine's Prometheus metrics (vllm/v1/metrics/loggers.py PrometheusStatLogger),
// labelled {engine="0",model_name=…}; prometheus_client adds `_total` to counters.
// vllm:gpu_cache_usage_perc was renamed vllm:kv_cache_usage_perc (0.10) and later removed.
import { sample, type EngineStats } from '../shared/stats.ts';
import type { Scheduler } from '../shared/scheduler.ts';

export function vllmMetrics(modelName: string, scheduler: Scheduler, stats: EngineStats, maxNumSeqs: number): string {
  const labels = `engine="0",model_name="${modelName}"`;
  const success = (['stop', 'length', 'abort'] as const).map((reason) => `vllm:request_success_total{${labels},finished_reason="${reason}"} ${stats.success[reason]}`);
  const histogram = (name: string, help: string, h: EngineStats['timeToFirstToken']) => [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`, ...h.lines(name, labels)];
  return [
    ...sample('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', labels, scheduler.runningCount),
    ...sample('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', labels, scheduler.waitingCount),
    ...sample('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', labels, Math.min(1, scheduler.runningCount / maxNumSeqs)),
    ...sample('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', labels, stats.promptTokens),
    ...sample('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', labels, stats.generationTokens),
    '# HELP vllm:request_success_total Count of successfully processed requests.',
    '# TYPE vllm:request_success_total counter',
    ...success,
    ...histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', stats.timeToFirstToken),
    ...histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', stats.interTokenLatency),
    ...histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', stats.e2eLatency),
    ...histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', stats.queueTime),
  ].join('\n') + '\n';
}
