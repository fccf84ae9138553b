/** `providers:`, each named block with its type (from the registry, providers/index.ts) and options. */
import { providerTypes } from "../../providers/index.js";
import type { Where } from "../core/errors.js";
import { excerpt } from "../core/names.js";
import type { Config, ProviderConfig } from "./types.js";
import { closest, type Problems } from "./problems.js";
import type { Entry } from "./yaml-source.js";
import { describe, isMapping } from "./values.js";

/** Every provider type the registry knows (providers/index.ts). */
export const DEFAULT_PROVIDER_TYPES: readonly string[] = Object.keys(providerTypes);

const PROVIDER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function readProviders(
  p: Problems,
  v: unknown,
  entry: Entry | undefined,
  line: number | undefined,
  config: Config,
  knownTypes: readonly string[],
): Set<string> {
  // Every name written under providers:, usable or not: a domain that refers to a provider whose
  // block has a problem is not reported again (the problem is reported once, at its line).
  const declared = new Set<string>();
  if (v === undefined || v === null) return declared;
  if (!isMapping(v)) {
    p.add(
      line,
      `providers must be a mapping of names to provider settings, not ${describe(v)}`,
      `write providers:\n  zones:\n    type: ${DEFAULT_PROVIDER_TYPES[0]}\n    <its options>`,
    );
    return declared;
  }
  const nodes = entry?.value?.entries() ?? new Map<string, Entry>();
  for (const [name, block] of Object.entries(v)) {
    declared.add(name);
    const e = nodes.get(name);
    const where: Where = { file: config.displayFile, line: e?.keyLine ?? line };
    if (!PROVIDER_NAME.test(name)) {
      p.add(
        where.line,
        `provider name ${excerpt(name)} may hold only letters, digits, "_", "." and "-"`,
        "rename it; domains refer to providers by this name",
      );
      continue;
    }
    if (!isMapping(block)) {
      p.add(
        where.line,
        `provider "${name}" must be a mapping with a type, not ${describe(block)}`,
        `write ${name}:\n    type: ${knownTypes[0]}`,
      );
      continue;
    }
    const { type, ...options } = block;
    if (typeof type !== "string" || type.trim() === "") {
      p.add(
        where.line,
        `provider "${name}" needs a type (${knownTypes.join(", ")})${type === undefined ? "" : `, not ${describe(type)}`}`,
        `add type: <one of ${knownTypes.join(", ")}> under ${name}:`,
      );
      continue;
    }
    if (!knownTypes.includes(type)) {
      const near = closest(type, knownTypes);
      p.add(
        e?.value?.lineOf("type") ?? where.line,
        `provider "${name}": unknown type ${excerpt(String(type))}${near ? `; did you mean "${near}"?` : ""}`,
        `known types: ${knownTypes.join(", ")}`,
      );
      continue;
    }
    const value = e?.value;
    const provider: ProviderConfig = {
      name,
      type,
      options,
      where,
      lineOf: (key) => value?.lineOf(key),
    };
    config.providers.set(name, provider);
  }
  return declared;
}
