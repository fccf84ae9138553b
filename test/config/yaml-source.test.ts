import { describe, expect, it } from "vitest";
import { readYaml } from "../../src/config/yaml-source.js";

describe("PositionTree.entry", () => {
  it("finds a key's line and value node as entries() does, without building the map", () => {
    const { tree } = readYaml(
      [
        "domains:",
        "  a.example:",
        "    provider: zones",
        "  b.example: { providers: [x, y] }",
        "list: [1, 2]",
        "",
      ].join("\n"),
      "f.yaml",
    );
    if (tree === undefined) throw new Error("no tree");
    for (const key of ["domains", "list", "missing"]) expect(tree.entry(key)).toEqual(tree.entries().get(key));
    const domains = tree.entry("domains")?.value;
    expect(domains?.entry("b.example")?.keyLine).toBe(4);
    expect(domains?.entry("a.example")?.value?.entry("provider")?.keyLine).toBe(3);
    expect(domains?.entry("b.example")?.value?.entry("providers")?.value?.item(1)?.line).toBe(4);
    // Not a mapping: nothing, as entries() gives nothing.
    expect(tree.entry("list")?.value?.entry("0")).toBeUndefined();
  });
});
