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

/** The optional, structured facts of a ProviderError: what a caller can act on without parsing text. */
export interface ProviderErrorOptions {
  zone?: string;
  cause?: unknown;
  hint?: string;
  /** A failure worth retrying later (throttling, 5xx, timeouts). */
  transient?: boolean;
  /** What dkimsync was doing: "list", "write", "find zone", ... */
  operation?: string;
  /** The answer that failed: an HTTP status ("429") or a DNS RCODE name ("REFUSED", RFC 1035 4.1.1). */
  status?: string;
  /** How many changes of the zone are in place despite the failure, when the provider knows. */
  written?: number;
}

/**
 * A provider call failed. The message reads `[provider] zone example.com: what happened`;
 * `detail` is the same text without that prefix, for callers that name the provider and zone
 * themselves. `transient` (alias `retryable`) marks failures worth retrying later.
 */
export class ProviderError extends DkimsyncError {
  readonly provider: string;
  readonly zone: string | undefined;
  readonly transient: boolean;
  readonly detail: string;
  readonly operation: string | undefined;
  readonly status: string | undefined;
  readonly written: number | undefined;
  constructor(provider: string, message: string, options: ProviderErrorOptions = {}) {
    super(`[${provider}]${options.zone ? ` zone ${options.zone}:` : ""} ${message}`, options);
    this.name = "ProviderError";
    this.provider = provider;
    this.zone = options.zone;
    this.transient = options.transient ?? false;
    this.detail = message;
    this.operation = options.operation;
    this.status = options.status;
    this.written = options.written;
  }

  /** The same as `transient`: worth retrying later. */
  get retryable(): boolean {
    return this.transient;
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

// ---------------------------------------------------------------------------------------------
// Redaction: one redactor for every place text leaves dkimsync (stdout, stderr, plan files).

/** Environment variables whose values are AWS credential material (AWS SDK default chain). */
export const AWS_SECRET_ENV = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;

/**
 * Secrets shorter than this are not redacted as substrings: a 1-3 character "secret" would
 * black out ordinary words. No real API key, token or TSIG secret is that short.
 */
const MIN_SECRET_CHARS = 4;
const REDACTED = "[redacted]";
const secrets = new Set<string>();

/**
 * Remember a secret value so that redact() removes it from every later output. Called where
 * an `env/NAME` option is resolved; the AWS variables are read from the environment each time.
 */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_CHARS) return;
  secrets.add(value);
  // The forms the value can take in a reflected request: URL-encoded, JSON-escaped, Base64
  // (HTTP Basic credentials, RFC 7617), each of which a provider may echo back.
  secrets.add(encodeURIComponent(value));
  secrets.add(JSON.stringify(value).slice(1, -1));
  const b64 = Buffer.from(value, "utf8").toString("base64").replace(/=+$/, "");
  if (b64.length >= 8) secrets.add(b64);
}

/** Forget every registered secret (tests run many configs in one process). */
export function clearSecrets(): void {
  secrets.clear();
}

function currentSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  for (const name of AWS_SECRET_ENV) registerSecret(env[name]);
  // Longest first, so a secret that contains another is removed whole.
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** The text with every known secret replaced by `[redacted]`. */
export function redact(text: string): string {
  let out = text;
  for (const s of currentSecrets()) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}
