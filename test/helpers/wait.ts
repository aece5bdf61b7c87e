/**
 * Polls `check` until it returns something truthy (errors count as "not yet") and resolves with it;
 * rejects after timeoutMs naming what it waited for.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await Promise.resolve().then(check).catch(() => undefined);
    if (value) return value as NonNullable<T>;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
