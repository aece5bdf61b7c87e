import type { Admission, AdmissionRefused } from './admission.ts';
import { budgetRefusal, concurrencyRefusal, keyBurst, keyRateRefusal, type KeyLimits, type KeyRefused } from './key-limits.ts';
import { AdmitCode } from './limits-lua.ts';
import type { KeyAdmission, RedisLimits } from './redis-limits.ts';
import type { Caller, ServedDeployment } from './types.ts';

// With shared limits, one Redis round trip does what KeyLimits.check() and Admission.checkRate() do in
// memory: the key's token budget, in-flight count and rate, then the client's rate for the deployment.
// The deployment's own readiness and max_concurrent_requests stay this gateway's (its in-flight count
// is what it relays). Should Redis not answer, the request is checked against the local limits.

export interface SharedVerdict {
  refusal?: KeyRefused | AdmissionRefused;
  /** Whether the client's rate for the deployment has been checked (false: check it locally). */
  rateChecked: boolean;
}

/**
 * `takeRate`: whether the request can reach `d` at all (ready, and under its cap or queueing): only then
 * is a token taken from the client's bucket, as in memory.
 */
export async function admitShared(
  store: RedisLimits,
  keyLimits: KeyLimits,
  admission: Admission,
  caller: Caller,
  model: string,
  d: ServedDeployment,
  client: string,
  takeRate: boolean,
  now: number,
): Promise<SharedVerdict> {
  const key = caller.operator ? undefined : keyAdmission(caller, keyLimits);
  if (!key && !takeRate) return { rateChecked: true };
  const limits = d.spec.limits;
  const deployment = takeRate ? { key: d.key, client, requestsPerSecond: limits.requestsPerSecond, burst: limits.burst } : undefined;
  let answer;
  try {
    answer = await store.admit(key, deployment);
  } catch {
    return { refusal: keyLimits.check(caller, model, now), rateChecked: false };
  }
  const { code, a, b } = answer;
  const name = caller.name;
  const { tokensPerMinute, maxConcurrent, requestsPerSecond, burst } = caller.limits;
  switch (code) {
    case AdmitCode.Budget:
      return { refusal: budgetRefusal(name, tokensPerMinute!, a), rateChecked: true };
    case AdmitCode.KeyConcurrency:
      return { refusal: concurrencyRefusal(name, maxConcurrent!), rateChecked: true };
    case AdmitCode.KeyRate:
      return { refusal: keyRateRefusal(name, requestsPerSecond!, keyBurst(requestsPerSecond!, burst), a / 1000), rateChecked: true };
    case AdmitCode.Rate:
      return { refusal: admission.rateRefused(d, { remaining: b, retryAfterSeconds: a / 1000 }, now), rateChecked: true };
  }
  // Requests of this gateway admitted while the answer was on its way count too.
  if (key?.maxConcurrent !== undefined && a + keyLimits.inFlightOf(name) >= key.maxConcurrent) return { refusal: concurrencyRefusal(name, key.maxConcurrent), rateChecked: true };
  return { rateChecked: true };
}

function keyAdmission(caller: Caller, keyLimits: KeyLimits): KeyAdmission | undefined {
  const { tokensPerMinute, maxConcurrent, requestsPerSecond, burst } = caller.limits;
  if (tokensPerMinute === undefined && maxConcurrent === undefined && requestsPerSecond === undefined) return undefined;
  return { name: caller.name, tokensPerMinute, maxConcurrent, inFlightHere: keyLimits.inFlightOf(caller.name), requestsPerSecond, burst };
}
