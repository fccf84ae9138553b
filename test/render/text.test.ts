/** The text plan: provenance, domain warnings, collapsed unchanged zones, grouped errors. */
import { describe, expect, it } from "vitest";
import { renderText, renderTextChunks } from "../../src/render/text.js";
import { renderMarkdown, renderMarkdownChunks } from "../../src/render/markdown.js";
import { planToJson } from "../../src/render/json.js";
import type { Plan, RecordSet, ZonePlan } from "../../src/core/types.js";
import { derivedWarning } from "../../src/core/desired.js";

const cname = (name: string, value: string): RecordSet => ({ name, type: "CNAME", ttl: 3600, values: [value] });

function quiet(zone: string): ZonePlan {
  return {
    provider: "zones",
    zone,
    domains: [zone],
    changes: [],
    conflicts: [],
    unchanged: [cname(`selector1._domainkey.${zone}`, "a"), cname(`selector2._domainkey.${zone}`, "b")],
    warnings: [],
    names: [],
    fingerprint: "x",
  };
}

describe("renderText", () => {
  it("comes out in pieces for a large plan (the CLI writes them as they come), the same text joined", () => {
    const zones = Array.from({ length: 3000 }, (_, i) => {
      const z = quiet(`d${String(i).padStart(4, "0")}.example`);
      if (i % 3 === 0) {
        const name = `selector1._domainkey.${z.zone}`;
        z.changes = [{ action: "create", name, type: "CNAME", before: null, after: cname(name, "t") }];
      }
      return z;
    });
    const plan: Plan = { zones, errors: [] };
    const chunks = [...renderTextChunks(plan)];
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.endsWith("\n")).toBe(true);
    const text = chunks.join("");
    expect(text).toBe(renderText(plan));
    // The blank line before a zone with changes is kept across piece boundaries, never doubled.
    expect(text).not.toContain("\n\n\n");
    for (let i = 3; i < 3000; i += 3) expect(text).toContain(`\n\nzones · d${String(i).padStart(4, "0")}.example  (`);
    expect(text).toMatch(/\nPlan: 1000 to create, 0 to update, 0 to delete, \d+ unchanged, 0 conflicts\.\n$/);
  });

  it("collapses each unchanged zone to one line; --verbose shows it in full", () => {
    const plan: Plan = {
      zones: Array.from({ length: 30 }, (_, i) => quiet(`d${String(i).padStart(2, "0")}.example`)),
      errors: [],
    };
    const text = renderText(plan);
    expect(text.split("\n")).toHaveLength(30 + 1 + 1 + 1);
    expect(text).toContain("zones · d00.example  (d00.example)  = no changes (2 up to date)\n");
    expect(renderText(plan, undefined, { verbose: true }).split("\n").length).toBeGreaterThan(80);
  });

  it("tags every written target with its source and shows each domain's warning, also on a collapsed zone", () => {
    const z = quiet("xn--bcher-kva.example");
    z.changes = [
      {
        action: "create",
        name: "selector1._domainkey.xn--bcher-kva.example",
        type: "CNAME",
        before: null,
        after: cname("selector1._domainkey.xn--bcher-kva.example", "t"),
        source: "derived",
      },
    ];
    z.notes = [{ domain: "xn--bcher-kva.example", message: "targets derived from tenant" }];
    const q = quiet("quiet.example");
    q.notes = [{ domain: "quiet.example", message: "targets derived from tenant" }];
    const text = renderText({ zones: [z, q], errors: [] });
    expect(text).toContain("zones · bücher.example (xn--bcher-kva.example)  (bücher.example (xn--bcher-kva.example))");
    expect(text).toContain("  + selector1._domainkey.xn--bcher-kva.example  CNAME  3600  t  [derived]");
    expect(text).toContain("  ! bücher.example (xn--bcher-kva.example): targets derived from tenant");
    expect(text).toContain(
      "zones · quiet.example  (quiet.example)  = no changes (2 up to date)\n  ! quiet.example: targets derived from tenant\n",
    );
    // The same warning, and the source, in Markdown and JSON.
    const md = renderMarkdown({ zones: [z, q], errors: [] });
    expect(md).toContain("> ⚠️ `quiet.example`: targets derived from tenant");
    expect(md).toContain("| `t` (derived) |");
    const json = planToJson({ zones: [z, q], errors: [] });
    expect(json.changes[0]?.source).toBe("derived");
    expect(json.warnings).toContainEqual({
      provider: "zones",
      zone: "quiet.example",
      domain: "quiet.example",
      message: "targets derived from tenant",
    });
  });

  it("shows a derived-target warning as one short line per domain and its advice once, before the summary", () => {
    const zones = ["a.example", "b.example", "c.example"].map((d) => {
      const z = quiet(d);
      z.notes = [{ domain: d, message: derivedWarning(d) }];
      return z;
    });
    const text = renderText({ zones, errors: [] });
    for (const d of ["a.example", "b.example", "c.example"])
      expect(text).toContain(
        `  ! ${d}: targets derived from tenant, not confirmed by signing_config (what to do: see the note before the summary)\n`,
      );
    expect(text.match(/May 2025/g)).toHaveLength(1);
    expect(text).toMatch(
      /\n! Targets derived from tenant, not confirmed by signing_config \(3 domains, marked above\): right only if .*Get-DkimSigningConfig -Identity <domain> \| Format-List Selector1CNAME,Selector2CNAME.*\n\nPlan: /,
    );
    // One domain: its own name in the command, ready to paste.
    const one = renderText({ zones: zones.slice(0, 1), errors: [] });
    expect(one).toContain(
      "! Targets derived from tenant, not confirmed by signing_config (a.example): right only if the domain was added to Microsoft 365 before May 2025",
    );
    expect(one).toContain("Get-DkimSigningConfig -Identity a.example | Format-List");
    // The planner's mark alone is enough: the message is not read.
    const marked = quiet("d.example");
    marked.notes = [{ domain: "d.example", message: derivedWarning("d.example"), derived: true }];
    expect(renderText({ zones: [marked], errors: [] })).toContain(
      "  ! d.example: targets derived from tenant, not confirmed by signing_config (what to do: see the note before the summary)\n",
    );
    // JSON keeps the whole warning on each domain.
    expect(planToJson({ zones, errors: [] }).warnings?.[1]?.message).toBe(derivedWarning("b.example"));
  });

  it("gives a derived-target warning's advice once in Markdown, first in Warnings, and a short line per domain", () => {
    const zones = ["a.example", "b.example", "c.example"].map((d) => {
      const z = quiet(d);
      z.notes = [{ domain: d, message: derivedWarning(d) }];
      return z;
    });
    // A plain note beside them keeps its own line in Warnings.
    zones[1]?.notes?.push({ domain: "b.example", message: "signing_config disagrees" });
    const md = renderMarkdown({ zones, errors: [] });
    expect(md.match(/May 2025/g)).toHaveLength(1);
    expect(md).toContain(
      "#### ⚠️ Warnings\n\n- Targets derived from tenant, not confirmed by signing\\_config (3 domains, marked below): right only if",
    );
    expect(md).toContain("Get-DkimSigningConfig -Identity &lt;domain&gt;");
    expect(md).toContain(" · `b.example`: signing\\_config disagrees");
    for (const d of ["a.example", "b.example", "c.example"])
      expect(md).toContain(
        `> ⚠️ \`${d}\`: targets derived from tenant, not confirmed by signing\\_config (what to do: see Warnings above)`,
      );
    // Every note still counts as a warning.
    expect(md).toContain("4 warnings");
    // The pieces the CLI writes are the same document, and a capped comment keeps the advice.
    expect([...renderMarkdownChunks({ zones, errors: [] })].join("")).toBe(md);
    expect(renderMarkdown({ zones, errors: [] }, { maxChars: 2_000 })).toContain("May 2025");
    // One domain: its own name in the command, ready to paste.
    const one = renderMarkdown({ zones: zones.slice(0, 1), errors: [] });
    expect(one).toContain("(`a.example`): right only if");
    expect(one).toContain("Get-DkimSigningConfig -Identity a.example");
  });

  it("reports one provider failure once, naming every zone and domain it affected", () => {
    const message = "cannot list zones: Authentication error (9109): check the token";
    const errors = Array.from({ length: 8 }, (_, i) => ({ provider: "cf", domain: `d${i}.example`, message }));
    const text = renderText({ zones: [], errors });
    expect(text.match(/Authentication error/g)).toHaveLength(1);
    expect(text).toContain(`  [cf] ${errors.map((e) => e.domain).join(", ")}: ${message}`);
  });

  it("does not suggest --force to a run that uses it", () => {
    const z = quiet("a.example");
    z.conflicts = [
      {
        name: "selector1._domainkey.a.example",
        type: "TXT",
        ttl: 3600,
        values: ["v=DKIM1; p=x"],
        reason: "a TXT record blocks the CNAME; apply --force replaces it with the CNAME",
        desired: cname("selector1._domainkey.a.example", "t"),
      },
    ];
    const plan = { zones: [z], errors: [] };
    expect(renderText(plan)).toContain("or apply --force replaces them");
    expect(renderText(plan, undefined, { force: true })).not.toContain("run apply --force");
    expect(renderText(plan, undefined, { force: true })).not.toContain("or apply --force");
    expect(renderText(plan, undefined, { force: true })).not.toContain("apply --force replaces");
    expect(renderText(plan, undefined, { force: true })).toContain(
      "a TXT record blocks the CNAME; --force replaces it with the CNAME in this run",
    );
  });
});
