/**
 * Wait until a provider reports an accepted change live on all its servers (`apply --wait`):
 * Route 53 GetChange until INSYNC, Cloud DNS changes.get until done. Polls with a doubling pause
 * (0.5 s to 10 s) and ends with a transient ProviderError at the deadline: the change was
 * accepted and will be served, so the run says so instead of failing the write.
 */
import { ProviderError } from "../core/errors.js";

export interface WaitForChange {
  provider: string;
  zone: string;
  /** The change's id, for the message. */
  id: string;
  timeoutMs: number;
  /** The status that means live. */
  done: string;
  /** Reads the change's status; throws a ProviderError naming the call when it cannot. */
  status(): Promise<string>;
  /** What to do when the deadline passes. */
  hint: string;
}

export async function waitForChange(w: WaitForChange): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  let delay = 500;
  for (;;) {
    const status = await w.status();
    if (status === w.done) return;
    if (Date.now() + delay > deadline) {
      throw new ProviderError(
        w.provider,
        `change ${w.id} is still ${status} after ${Math.round(w.timeoutMs / 1000)} s`,
        {
          zone: w.zone,
          transient: true,
          hint: w.hint,
        },
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}
