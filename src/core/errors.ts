/**
 * Errors a user can act on. The CLI prints `message` (and `hint`) without a stack trace;
 * DKIMSYNC_DEBUG=1 prints the stack and the cause chain too.
 */

/** Where in a file something was written: `dkim.zones.yaml:12`. */
export interface Where {
  file: string;
  line?: number;
}

export function formatWhere(where: Where): string {
  return where.line === undefined ? where.file : `${where.file}:${where.line}`;
}

export class DkimsyncError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DkimsyncError";
    this.hint = options.hint;
  }
}

/** Bad input in a file the user wrote: the message starts with file:line. */
export class InputError extends DkimsyncError {
  constructor(where: Where, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(`${formatWhere(where)}: ${message}`, options);
    this.name = "InputError";
  }
}

/**
 * A provider call failed. The message reads `[provider] zone example.com: what happened`.
 * `transient` marks failures worth retrying later (throttling, 5xx, timeouts).
 */
export class ProviderError extends DkimsyncError {
  readonly provider: string;
  readonly zone: string | undefined;
  readonly transient: boolean;
  constructor(
    provider: string,
    message: string,
    options: { zone?: string; cause?: unknown; hint?: string; transient?: boolean } = {},
  ) {
    super(`[${provider}]${options.zone ? ` zone ${options.zone}:` : ""} ${message}`, options);
    this.name = "ProviderError";
    this.provider = provider;
    this.zone = options.zone;
    this.transient = options.transient ?? false;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The message and, for our own errors, what to do: for places that keep only a string. */
export function errorWithHint(err: unknown): string {
  const hint = err instanceof DkimsyncError ? err.hint : undefined;
  return hint ? `${errorMessage(err)} (${hint})` : errorMessage(err);
}
