/**
 * How many requests go to one server at once, where the server publishes no rate limit
 * (PowerDNS, RFC 2136 servers): the limit is found by trying. It starts low, grows by one after
 * each run of clean answers up to a ceiling, and halves on a sign of overload (a 5xx, SERVFAIL,
 * a timeout, a refused or dropped connection), which also lowers the ceiling for the rest of
 * the run: what overloaded the server once would again.
 */
export type Outcome = "ok" | "overloaded" | "other";

export interface LimitState {
  /** Requests allowed at once now. */
  limit: number;
  /** The most the limit may still grow to. */
  max: number;
  /** Requests in flight now, and the most there ever were at once. */
  active: number;
  peak: number;
  /** Answers seen, by outcome. */
  ok: number;
  overloaded: number;
}

export class AdaptiveLimit {
  private active = 0;
  private peak = 0;
  private streak = 0;
  private ok = 0;
  private overloaded = 0;
  private readonly waiting: (() => void)[] = [];
  private limit: number;
  private max: number;

  constructor(
    start: number,
    ceiling: number,
    /** Clean answers in a row before the limit grows by one. */
    private readonly growAfter = 8,
  ) {
    this.limit = start;
    this.max = ceiling;
  }

  get state(): LimitState {
    return {
      limit: this.limit,
      max: this.max,
      active: this.active,
      peak: this.peak,
      ok: this.ok,
      overloaded: this.overloaded,
    };
  }

  /**
   * Runs `fn` in a slot of the limit, and hands the slot back with what `judge` reads from the
   * outcome: the value `fn` returned, or (with `failed` true) what it threw. A judge that throws
   * counts as "other". The value is returned and the failure rethrown unchanged.
   */
  async use<T>(
    fn: () => Promise<T>,
    judge: (outcome: { value?: T; error?: unknown; failed: boolean }) => Outcome,
  ): Promise<T> {
    await this.acquire();
    let outcome: Outcome = "other";
    try {
      const value = await fn();
      outcome = judge({ value, failed: false });
      return value;
    } catch (error) {
      outcome = judge({ error, failed: true });
      throw error;
    } finally {
      this.release(outcome);
    }
  }

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      return;
    }
    // The slot is counted by release() when it hands it on.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(outcome: Outcome): void {
    if (outcome === "overloaded") {
      this.overloaded++;
      this.limit = Math.max(1, Math.floor(this.limit / 2));
      this.max = this.limit;
      this.streak = 0;
    } else if (outcome === "ok") {
      this.ok++;
      if (++this.streak >= this.growAfter && this.limit < this.max) {
        this.limit++;
        this.streak = 0;
      }
    }
    // Free the finished request's slot, then hand on every slot the limit now allows: a limit
    // that grew lets more than one waiting request go at once.
    this.active--;
    while (this.active < this.limit && this.waiting.length > 0) {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      this.waiting.shift()?.();
    }
  }
}
