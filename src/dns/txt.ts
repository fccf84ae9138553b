/**
 * TXT data in presentation form (RFC 1035 5.1, 3.3.14): one or more character-strings, quoted
 * or bare words, separated by blanks; `\X` escapes X, `\` and three digits one octet. APIs
 * differ only in the base of that escape: PowerDNS writes decimal `\DDD` (as RFC 1035 does),
 * Route 53 octal `\ooo` (Route 53 Developer Guide, "DNS domain name format"). The strings are
 * joined without separators (RFC 6376 3.6.2.2) and read as UTF-8.
 */
export type OctetEscape = "decimal" | "octal";

const DIGITS: Record<OctetEscape, RegExp> = { decimal: /^\d{3}/, octal: /^[0-7]{3}/ };

export function parseCharacterStrings(text: string, base: OctetEscape): string {
  const bytes: number[] = [];
  const octet = DIGITS[base];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const quoted = c === '"';
    if (quoted) i++;
    while (i < text.length) {
      const ch = text[i] as string;
      if (quoted ? ch === '"' : ch === " " || ch === "\t") break;
      if (ch === "\\" && i + 1 < text.length) {
        const digits = octet.exec(text.slice(i + 1, i + 4));
        if (digits) {
          bytes.push(parseInt(digits[0], base === "octal" ? 8 : 10) & 0xff);
          i += 4;
          continue;
        }
        const next = String.fromCodePoint(text.codePointAt(i + 1) as number);
        bytes.push(...Buffer.from(next, "utf8"));
        i += 1 + next.length;
        continue;
      }
      const char = String.fromCodePoint(text.codePointAt(i) as number);
      bytes.push(...Buffer.from(char, "utf8"));
      i += char.length;
    }
    if (quoted) i++;
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * Quoted character-strings of at most 255 octets each; `"` and `\` escaped, octets outside
 * printable ASCII as a three-digit escape in the given base.
 */
export function formatCharacterStrings(value: string, base: OctetEscape): string {
  const bytes = Buffer.from(value, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  if (chunks.length === 0) chunks.push(bytes);
  const code = (b: number) => (base === "octal" ? b.toString(8) : String(b)).padStart(3, "0");
  return chunks
    .map((chunk) => {
      let out = "";
      for (const b of chunk) {
        if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
        else if (b < 0x20 || b > 0x7e) out += `\\${code(b)}`;
        else out += String.fromCharCode(b);
      }
      return `"${out}"`;
    })
    .join(" ");
}
