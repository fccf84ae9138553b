/**
 * Reading a provider's options from dkim.zones.yaml. Each provider factory validates its own
 * options first through this reader, so every error names the file, line, provider and option,
 * and says what to write instead. Secrets are only ever references (`env/NAME`).
 */
import path from "node:path";
import { InputError, registerSecret, type Where } from "../core/errors.js";
import { excerpt } from "../core/names.js";
import { closest } from "./load.js";

export interface OptionsSource {
  /** The provider's name in the config. */
  provider: string;
  type: string;
  /** The provider's keys other than `type`, as parsed. */
  values: Record<string, unknown>;
  /** Where the provider block starts, and where each key is (when known). */
  where: Where;
  lineOf: (key: string) => number | undefined;
  /** The folder of the config file: relative paths resolve from it. */
  configDir: string;
  env: NodeJS.ProcessEnv;
  /**
   * Checking the options only (when the config is loaded): a secret's env/NAME form is checked
   * but the variable need not be set, since a run limited with --provider needs only its own.
   */
  checkOnly?: boolean;
}

const SECRET_REF = /^env\/([A-Za-z_][A-Za-z0-9_]*)$/;

export class OptionsReader {
  private readonly used = new Set<string>();
  constructor(readonly src: OptionsSource) {}

  where(key?: string): Where {
    const line = key === undefined ? undefined : this.src.lineOf(key);
    return { file: this.src.where.file, line: line ?? this.src.where.line };
  }

  fail(key: string, message: string, hint?: string): never {
    // A required option that is "missing" is often one written with a typo: name the typo.
    const typo = message === "is required" ? this.typoOf(key) : undefined;
    if (typo !== undefined) {
      throw new InputError(
        this.where(typo),
        `provider "${this.src.provider}" (${this.src.type}): option "${typo}" is not an option of provider type ${this.src.type}; did you mean "${key}"? (option "${key}" is required)`,
        {
          hint: `rename ${typo}: to ${key}:`,
        },
      );
    }
    throw new InputError(
      this.where(key),
      `provider "${this.src.provider}" (${this.src.type}): option "${key}" ${message}`,
      hint === undefined ? {} : { hint },
    );
  }

  /** A key written in the block that is not `key` but within a typo's distance of it. */
  private typoOf(key: string): string | undefined {
    const unknown = Object.keys(this.src.values).filter((k) => k !== key && !this.used.has(k));
    return unknown.find((k) => closest(k, [key]) === key);
  }

  private raw(key: string): unknown {
    this.used.add(key);
    return this.src.values[key];
  }

  string(key: string, opts: { required: true }): string;
  string(key: string, opts?: { required?: false; default?: string }): string | undefined;
  string(key: string, opts: { required?: boolean; default?: string } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) {
      if (opts.required) this.fail(key, "is required");
      return opts.default;
    }
    if (typeof v !== "string" || v.trim() === "") this.fail(key, `must be a non-empty string, not ${describe(v)}`);
    return v;
  }

  number(key: string, opts: { default: number; min?: number; max?: number; integer?: boolean }): number {
    const v = this.raw(key);
    if (v === undefined || v === null) return opts.default;
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(key, `must be a number, not ${describe(v)}`);
    if (opts.integer && !Number.isInteger(v)) this.fail(key, `must be a whole number, not ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(key, `must be at least ${opts.min}, not ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(key, `must be at most ${opts.max}, not ${v}`);
    return v;
  }

  boolean(key: string, opts: { default: boolean }): boolean {
    const v = this.raw(key);
    if (v === undefined || v === null) return opts.default;
    if (typeof v !== "boolean") this.fail(key, `must be true or false, not ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], opts: { default: T }): T {
    const v = this.string(key) ?? opts.default;
    if (!choices.includes(v as T)) this.fail(key, `must be one of ${choices.join(", ")}, not "${v}"`);
    return v as T;
  }

  stringList(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return undefined;
    const list = typeof v === "string" ? [v] : v;
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || x.trim() === "")) {
      this.fail(key, `must be a string or a list of strings, not ${describe(v)}`);
    }
    return list as string[];
  }

  /** A mapping of sub-options (e.g. `tsig: {name, algorithm, secret}`), read with its own reader. */
  object(key: string, opts: { required?: boolean } = {}): OptionsReader | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) {
      if (opts.required) this.fail(key, "is required");
      return undefined;
    }
    if (typeof v !== "object" || Array.isArray(v)) this.fail(key, `must be a mapping, not ${describe(v)}`);
    const parentLine = this.src.lineOf(key);
    return new OptionsReader({
      ...this.src,
      provider: `${this.src.provider}`,
      values: v as Record<string, unknown>,
      where: { file: this.src.where.file, line: parentLine ?? this.src.where.line },
      lineOf: (sub) => this.src.lineOf(`${key}.${sub}`) ?? parentLine,
      prefix: `${key}.`,
    } as OptionsSource);
  }

  /**
   * An http(s) endpoint URL (PowerDNS `url`, Cloudflare `base_url`, Route 53 `endpoint`).
   * User info (`user:password@`) is refused: credentials are only ever `env/NAME` references,
   * and a URL is printed in messages (WHATWG URL "username"/"password"). The value itself is
   * never echoed in the error, since it may hold exactly such a password.
   */
  url(key: string, opts: { default?: string; example: string }): string | undefined {
    const v = this.string(key, opts.default === undefined ? {} : { default: opts.default });
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v.trim());
    } catch {
      this.fail(key, `must be an http(s) URL like ${opts.example}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      this.fail(key, `must start with http:// or https://, like ${opts.example}`);
    if (parsed.username !== "" || parsed.password !== "") {
      this.fail(
        key,
        "must not contain a user name or password (user:password@); the URL is shown in messages",
        "remove the user info; credentials are given only as env/NAME options (rotate a password that was committed)",
      );
    }
    if (parsed.search !== "" || parsed.hash !== "")
      this.fail(key, `must be only scheme, host, port and path (no query or fragment), like ${opts.example}`);
    return parsed.href;
  }

  /** A path, resolved from the config file's folder. */
  path(key: string, opts: { required: true }): string;
  path(key: string, opts?: { required?: false; default?: string }): string | undefined;
  path(key: string, opts: { required?: boolean; default?: string } = {}): string | undefined {
    const v = opts.required
      ? this.string(key, { required: true })
      : this.string(key, { default: opts.default as string });
    return v === undefined ? undefined : path.resolve(this.src.configDir, v);
  }

  /**
   * A secret: must be written `env/NAME`; returns the variable's value. Never echoes the value,
   * not even in an error about an inline secret.
   */
  secret(key: string, opts: { required: true }): string;
  secret(key: string, opts?: { required?: false }): string | undefined;
  secret(key: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) {
      if (opts.required) this.fail(key, "is required", `write it as env/NAME and export NAME in the environment`);
      return undefined;
    }
    const m = typeof v === "string" ? SECRET_REF.exec(v.trim()) : null;
    if (!m) {
      this.fail(
        key,
        "looks like an inline secret; secrets are only referenced, never written in the config",
        `write ${key}: env/SOME_NAME and export SOME_NAME with the secret (and rotate the secret that was committed)`,
      );
    }
    const name = m[1] as string;
    const value = this.src.env[name];
    // Checking only: a stand-in that every provider's own format checks accept (base64, for a
    // TSIG secret); it is never sent anywhere, since a checking reader's provider is only built.
    if (this.src.checkOnly && (value === undefined || value === "")) return "AAAA";
    if (value === undefined || value === "") {
      this.fail(
        key,
        `refers to the environment variable ${name}, which is not set`,
        `export ${name}=... before running dkimsync`,
      );
    }
    // From here on every output of this run has the value redacted (core/errors.ts redact).
    registerSecret(value);
    return value;
  }

  /** Call last: any key the provider did not read is an error (typos must not pass silently). */
  done(): void {
    const prefix = (this.src as OptionsSource & { prefix?: string }).prefix ?? "";
    for (const key of Object.keys(this.src.values)) {
      if (!this.used.has(key)) {
        const near = closest(key, [...this.used]);
        this.fail(
          key,
          `is not an option of provider type ${this.src.type}` +
            (prefix ? ` (under ${prefix.slice(0, -1)})` : "") +
            (near ? `; did you mean "${near}"?` : ""),
          `options of ${this.src.type}${prefix ? ` under ${prefix.slice(0, -1)}` : ""}: ${[...this.used].sort().join(", ")}`,
        );
      }
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  // A short excerpt only: the value may be long, or a secret pasted into the wrong option.
  if (typeof v === "string") return excerpt(v);
  return `${typeof v} ${String(v)}`;
}
