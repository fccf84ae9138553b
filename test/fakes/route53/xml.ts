/**
 * Just enough XML for the Route 53 REST-XML protocol: the SDK sends plain elements with text
 * (no CDATA, no attributes besides xmlns, no mixed content), and parses responses the same way.
 */

export const NS = "https://route53.amazonaws.com/doc/2013-04-01/";

export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e === "amp") return "&";
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "quot") return '"';
    if (e === "apos") return "'";
    return String.fromCodePoint(e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** Parse a document into its root element. Throws on malformed input. */
export function parseXml(doc: string): XmlElement {
  const src = doc
    .replace(/^\uFEFF/, "")
    .replace(/<\?xml[^?]*\?>/, "")
    .trim();
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let last = 0;
  for (let m = tag.exec(src); m !== null; m = tag.exec(src)) {
    const text = src.slice(last, m.index);
    const top = stack[stack.length - 1];
    if (top) top.text += unescapeXml(text);
    else if (text.trim() !== "") throw new Error("text outside the root element");
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`unexpected </${name}>`);
      continue;
    }
    const el: XmlElement = { name: name as string, children: [], text: "" };
    if (top) top.children.push(el);
    else if (root) throw new Error("more than one root element");
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 0 || !root) throw new Error("unclosed element");
  if (src.slice(last).trim() !== "") throw new Error("text after the root element");
  return root;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childText(el: XmlElement, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}

/** A value tree rendered as elements: arrays repeat the element named by `item`. */
export type XmlValue = string | number | boolean | XmlNode | undefined;
export interface XmlNode {
  [name: string]: XmlValue | XmlList;
}
export interface XmlList {
  item: string;
  values: XmlValue[];
}

function isList(v: unknown): v is XmlList {
  return typeof v === "object" && v !== null && "item" in v && "values" in v && Array.isArray((v as XmlList).values);
}

function render(name: string, value: XmlValue | XmlList): string {
  if (value === undefined) return "";
  if (isList(value)) return `<${name}>${value.values.map((v) => render(value.item, v)).join("")}</${name}>`;
  if (typeof value === "object") {
    return `<${name}>${Object.entries(value)
      .map(([k, v]) => render(k, v))
      .join("")}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A response document with the Route 53 namespace on its root element. */
export function xmlDocument(root: string, body: XmlNode): string {
  const inner = Object.entries(body)
    .map(([k, v]) => render(k, v))
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${inner}</${root}>`;
}
