// GET /metrics, served only with --enable-metrics (python/sglang/srt/metrics/collector.py:
// SchedulerMetricsCollector gauges, TokenizerMetricsCollector counters and histograms), labelled
// {model_name=…}; prometheus_client adds `_total` to counters.
import type { Scheduler } from '../shared/scheduler.ts';
import { sample, type EngineStats } from '../shared/stats.ts';

export function sglangMetrics(modelName: string, scheduler: Scheduler, stats: EngineStats, maxRunning: number, maxTotalTokens: number): string {
  const labels = `model_name="${modelName}"`;
  const usage = Math.min(1, scheduler.runningCount / maxRunning);
  const histogram = (name: string, help: string, h: EngineStats['timeToFirstToken']) => [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`, ...h.lines(name, labels)];
  const finished = stats.success.stop + stats.success.length + stats.success.abort;
  return [
    ...sample('sglang:num_running_reqs', 'gauge', 'The number of running requests.', labels, scheduler.runningCount),
    ...sample('sglang:num_queue_reqs', 'gauge', 'The number of requests in the waiting queue.', labels, scheduler.waitingCount),
    ...sample('sglang:num_used_tokens', 'gauge', 'The number of used tokens.', labels, Math.round(usage * maxTotalTokens)),
    ...sample('sglang:token_usage', 'gauge', 'The token usage.', labels, usage),
    ...sample('sglang:gen_throughput', 'gauge', 'The generation throughput (token/s).', labels, 0),
    ...sample('sglang:cache_hit_rate', 'gauge', 'The prefix cache hit rate.', labels, 0),
    ...sample('sglang:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', labels, stats.promptTokens),
    ...sample('sglang:generation_tokens_total', 'counter', 'Number of generation tokens processed.', labels, stats.generationTokens),
    ...sample('sglang:num_requests_total', 'counter', 'Number of requests processed.', labels, finished),
    ...histogram('sglang:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', stats.timeToFirstToken),
    ...histogram('sglang:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', stats.interTokenLatency),
    ...histogram('sglang:e2e_request_latency_seconds', 'Histogram of End-to-end request latency in seconds', stats.e2eLatency),
  ].join('\n') + '\n';
}
