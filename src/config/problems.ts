/**
 * The problems of one config file, collected so that one run reports them all (up to
 * MAX_LISTED), each at its line, with "did you mean" for misspelt keys.
 */
import { InputError, formatWhere, type Where } from "../core/errors.js";
import { excerpt } from "../core/names.js";

const MAX_LISTED = 20;

/** One problem of a config file; `error.message` starts with `file:line:` of `line`. */
export interface ConfigProblem {
  line: number | undefined;
  error: InputError;
}

/**
 * A config file with one or more problems; `problems` holds each one. The message lists them,
 * each directly followed by its own hint, so nobody has to match hints to errors by order.
 */
export class ConfigError extends InputError {
  readonly problems: InputError[];
  constructor(file: string, problems: readonly ConfigProblem[]) {
    const first = problems[0] as ConfigProblem;
    const where: Where = { file, line: first.line };
    const shown = problems.slice(0, MAX_LISTED);
    const single = problems.length === 1;
    const lines: string[] = [];
    shown.forEach((x, i) => {
      lines.push(i === 0 ? x.error.message.slice(formatWhere(where).length + 2) : x.error.message);
      // One problem: the CLI prints its hint right below it anyway.
      if (!single && x.error.hint !== undefined) lines.push(...x.error.hint.split("\n").map((h) => `  hint: ${h}`));
    });
    if (problems.length > MAX_LISTED) lines.push(`... and ${problems.length - MAX_LISTED} more problems`);
    super(where, lines.join("\n"), {
      cause: single ? first.error : new AggregateError(problems.map((x) => x.error)),
      ...(single && first.error.hint !== undefined ? { hint: first.error.hint } : {}),
    });
    this.problems = problems.map((x) => x.error);
    this.lines = problems.map((x) => x.line);
  }
  /** The line of each problem, in the order of `problems`. */
  readonly lines: (number | undefined)[];
}

export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}

  add(line: number | undefined, message: string, hint?: string, cause?: unknown): void {
    this.list.push({
      line,
      error: new InputError({ file: this.file, line }, message, {
        ...(hint === undefined ? {} : { hint }),
        ...(cause === undefined ? {} : { cause }),
      }),
    });
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    // A stable sort keeps problems of one line in the order found.
    const sorted = [...this.list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(this.file, sorted);
  }
}

export function unknownKeys(
  p: Problems,
  obj: Record<string, unknown>,
  known: readonly string[],
  lineOf: (k: string) => number | undefined,
  what: string,
  owner = "",
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    p.add(
      lineOf(key),
      `${owner}unknown ${what} ${excerpt(key)}${near ? `; did you mean "${near}"?` : ""}`,
      `known keys: ${known.join(", ")}`,
    );
  }
}

/** The known key within edit distance 2, for "did you mean". */
export function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of choices) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
