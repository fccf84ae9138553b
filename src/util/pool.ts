/**
 * Run tasks with at most `limit` in flight; results come back in input order.
 *
 * When a task rejects, no further task is started and the pool rejects with that first error
 * once the tasks already in flight have settled: a caller that gives up on the whole batch (a
 * bulk read whose one zone failed) must not keep sending the rest of its requests in the
 * background, to a server that may be the reason it failed.
 */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw firstError;
  return results;
}
