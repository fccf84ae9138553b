/**
 * What a saved plan approves: a replace: added to the config after the plan was reviewed must not
 * turn a domain the reviewer saw as blocked into a write.
 */
import { describe, expect, it } from "vitest";
import { comparePlans } from "../../src/plan/safety.js";
import type { Plan, ZonePlan } from "../../src/core/types.js";

const name = "selector1._domainkey.example.com";
function zone(allowed?: string): ZonePlan {
  const desired = {
    name,
    type: "CNAME",
    ttl: 3600,
    values: ["selector1-example-com._domainkey.contoso.onmicrosoft.com"],
  };
  return {
    provider: "zones",
    zone: "example.com",
    domains: ["example.com"],
    changes: [],
    unchanged: [],
    warnings: [],
    conflicts: [
      {
        name,
        type: "TXT",
        ttl: 3600,
        values: ["v=DKIM1; p=old"],
        reason: "a TXT record blocks the CNAME",
        desired,
        ...(allowed ? { allowed } : {}),
      },
    ],
    names: [name, "selector2._domainkey.example.com"],
    fingerprint: "f",
  };
}
const plan = (z: ZonePlan): Plan => ({ zones: [z], errors: [] });

describe("saved plan approval and replace:", () => {
  it("refuses a zone whose conflict became replaceable after the plan was saved", () => {
    const { approved, refused } = comparePlans(
      plan(zone()),
      plan(zone("replace: [TXT] for example.com at dkim.zones.yaml:9")),
    );
    expect(approved).toEqual([]);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.differences.join(" ")).toContain(
      "a plan made now has the conflict selector1._domainkey.example.com TXT",
    );
  });
  it("approves a zone whose replace: was already in the reviewed plan", () => {
    const allowed = "replace: [TXT] for example.com at dkim.zones.yaml:9";
    expect(comparePlans(plan(zone(allowed)), plan(zone(allowed))).approved).toHaveLength(1);
  });
});
