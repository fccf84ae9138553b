/** The header block of a received message, as fields in order (RFC 5322 2.2). */

export interface HeaderField {
  /** As written (case kept). */
  name: string;
  /** Unfolded (RFC 5322 2.2.3: CRLF before WSP removed), surrounding whitespace trimmed. */
  value: string;
  /** 0 = topmost, i.e. the last one added in transit. */
  index: number;
}

/**
 * The header block of a message: everything up to the first empty line. CRLF and bare LF both
 * end lines (files saved on Unix have LF). A line starting with space or tab continues the field
 * above it (RFC 5322 2.2.3).
 */
export function readHeaderBlock(text: string): HeaderField[] {
  const lines = text.split(/\r?\n/);
  const fields: HeaderField[] = [];
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (current) fields.push({ name: current.name, value: current.value.trim(), index: fields.length });
    current = undefined;
  };
  for (const line of lines) {
    if (line === "") break;
    if (/^[ \t]/.test(line)) {
      if (current) current.value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    // A line without a colon is not a header field (an mbox "From " line, garbage): skip it.
    if (colon <= 0) continue;
    current = { name: line.slice(0, colon).trim(), value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}
