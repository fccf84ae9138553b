/**
 * The one splicer for YAML files dkimsync edits (octoDNS-style zone files, and
 * dkim.zones.yaml for `dkimsync import`). Both edit a file by replacing byte ranges the `yaml`
 * parser reported, never by re-rendering the document: yaml 2.x's toString() reflows comments and
 * spacing of lines nobody asked to change.
 *
 * Rules, shared by both callers:
 * - offsets are into the text the splices were planned on;
 * - two splices may not overlap (a replaced range shared by two edits means one of them was
 *   planned against text the other changes); an error is thrown and nothing is produced;
 * - several inserts at one offset land in the order they were given;
 * - the result is built in one pass: linear in the text and the number of splices (import writes
 *   thousands of splices into one file).
 */

/** Replace text[at, end) with insert. */
export interface Splice {
  at: number;
  end: number;
  insert: string;
}

export class OverlappingSplicesError extends Error {
  constructor(
    readonly first: Splice,
    readonly second: Splice,
  ) {
    super(`overlapping YAML edits: [${first.at}, ${first.end}) and [${second.at}, ${second.end})`);
    this.name = "OverlappingSplicesError";
  }
}

/** The text with the splices written. Throws OverlappingSplicesError when two overlap. */
export function applySplices(text: string, splices: readonly Splice[]): string {
  if (splices.length === 0) return text;
  // Stable sort by start, then by end, so that at one offset inserts (end === at) come before a
  // replacement starting there, and inserts keep the order they were given in.
  const order = splices.map((s, i) => ({ s, i })).sort((a, b) => a.s.at - b.s.at || a.s.end - b.s.end || a.i - b.i);
  const parts: string[] = [];
  let pos = 0;
  let prev: Splice | undefined;
  for (const { s } of order) {
    if (s.at < 0 || s.end < s.at || s.end > text.length)
      throw new RangeError(`YAML edit [${s.at}, ${s.end}) lies outside the text (length ${text.length})`);
    if (s.at < pos && prev) throw new OverlappingSplicesError(prev, s);
    parts.push(text.slice(pos, s.at), s.insert);
    pos = s.end;
    prev = s;
  }
  parts.push(text.slice(pos));
  return parts.join("");
}
