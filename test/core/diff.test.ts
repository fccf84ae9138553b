import { describe, expect, it } from "vitest";
import {
  diffZone,
  forcedChanges,
  normaliseSet,
  sortChanges,
  sortSmall,
  unconverged,
  type DesiredRecord,
} from "../../src/core/diff.js";
import type { Change, RecordSet } from "../../src/core/types.js";

const S1 = "selector1._domainkey.example.com";
const S2 = "selector2._domainkey.example.com";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

const cname = (name: string, value: string, ttl = 3600, drift?: string[]): RecordSet => ({
  name,
  type: "CNAME",
  ttl,
  values: [value],
  ...(drift ? { drift } : {}),
});
const present = (...records: RecordSet[]): DesiredRecord[] => records.map((record) => ({ record, ensure: "present" }));
const absent = (...names: string[]): DesiredRecord[] =>
  names.map((name) => ({ record: { name, type: "CNAME", ttl: 3600, values: [] }, ensure: "absent" }));
const brief = (changes: Change[]) =>
  changes.map((c) => `${c.action} ${c.name} ${c.type}${c.reason ? ` (${c.reason})` : ""}`);

describe("diffZone", () => {
  const cases: {
    name: string;
    existing: RecordSet[];
    desired: DesiredRecord[];
    changes: string[];
    conflicts?: string[];
    unchanged?: number;
  }[] = [
    {
      name: "empty zone: create both",
      existing: [],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [`create ${S1} CNAME`, `create ${S2} CNAME`],
    },
    {
      name: "already right: nothing",
      existing: [cname(S1, T1), cname(S2, T2)],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [],
      unchanged: 2,
    },
    {
      // Providers disagree on trailing dots and case (docs/providers/*.md); names are equal regardless.
      name: "case and trailing-dot noise is no change",
      existing: [cname("Selector1._DomainKey.Example.COM.", `${T1.toUpperCase()}.`), cname(S2, `${T2}.`)],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [],
      unchanged: 2,
    },
    {
      name: "different target: update",
      existing: [cname(S1, "old.example.net"), cname(S2, T2)],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [`update ${S1} CNAME (target)`],
      unchanged: 1,
    },
    {
      name: "different ttl: update",
      existing: [cname(S1, T1, 300), cname(S2, T2)],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [`update ${S1} CNAME (ttl 300 -> 3600)`],
      unchanged: 1,
    },
    {
      name: "provider drift: update",
      existing: [cname(S1, T1, 3600, ["proxied (must be DNS only)"]), cname(S2, T2)],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [`update ${S1} CNAME (proxied (must be DNS only))`],
      unchanged: 1,
    },
    {
      name: "a TXT at a selector name is a conflict, never planned over",
      existing: [{ name: S1, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=abc"] }],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [`create ${S2} CNAME`],
      conflicts: [`${S1} TXT`],
    },
    {
      name: "absent deletes only the CNAMEs",
      existing: [cname(S1, T1), { name: S2, type: "TXT", ttl: 60, values: ["x"] }],
      desired: absent(S1, S2),
      changes: [`delete ${S1} CNAME`],
    },
    { name: "absent with nothing there: nothing", existing: [], desired: absent(S1, S2), changes: [] },
    {
      name: "records at other names are never read into the plan",
      existing: [
        cname("s1._domainkey.example.com", "x.sendgrid.net"),
        { name: "example.com", type: "TXT", ttl: 3600, values: ["v=spf1 -all"] },
        cname("selector1._domainkey.other.example.com", "y"),
      ],
      desired: present(cname(S1, T1), cname(S2, T2)),
      changes: [`create ${S1} CNAME`, `create ${S2} CNAME`],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const d = diffZone(c.existing, c.desired);
      expect(brief(d.changes)).toEqual(c.changes);
      expect(d.conflicts.map((x) => `${x.name} ${x.type}`)).toEqual(c.conflicts ?? []);
      expect(d.unchanged).toHaveLength(c.unchanged ?? 0);
    });
  }

  it("carries before and after on an update as one value", () => {
    const d = diffZone([cname(S1, "old.example.net", 300)], present(cname(S1, T1)));
    expect(d.changes[0]).toMatchObject({
      action: "update",
      before: { ttl: 300, values: ["old.example.net"] },
      after: { ttl: 3600, values: [T1] },
    });
  });

  it("gives the same output for the same input in any order", () => {
    const existing = [
      cname(S2, "b"),
      cname(S1, "a"),
      { name: "selector1._domainkey.a.example.com", type: "TXT", ttl: 1, values: ["t"] },
    ];
    const desired = present(cname(S2, T2), cname("selector1._domainkey.a.example.com", "x"), cname(S1, T1));
    const one = diffZone(existing, desired);
    const two = diffZone([...existing].reverse(), [...desired].reverse());
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  });
});

describe("sortChanges", () => {
  it("puts deletes first, then creates, then updates, each by name and type", () => {
    const changes = [
      { action: "update", name: "b", type: "CNAME" },
      { action: "create", name: "a", type: "CNAME" },
      { action: "delete", name: "c", type: "TXT" },
      { action: "delete", name: "c", type: "CNAME" },
    ] as Change[];
    expect(sortChanges(changes).map((c) => `${c.action} ${c.name} ${c.type}`)).toEqual([
      "delete c CNAME",
      "delete c TXT",
      "create a CNAME",
      "update b CNAME",
    ]);
  });
});

describe("forcedChanges", () => {
  it("deletes the conflicting record before it writes the CNAME, at the same name", () => {
    const d = diffZone([{ name: S1, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=abc"] }], present(cname(S1, T1)));
    expect(brief(forcedChanges(d.conflicts)).map((s) => s.replace(/ \(.*\)$/, ""))).toEqual([
      `delete ${S1} TXT`,
      `create ${S1} CNAME`,
    ]);
  });

  it("updates a CNAME that already stands beside the conflicting data", () => {
    const d = diffZone(
      [{ name: S1, type: "TXT", ttl: 3600, values: ["k"] }, cname(S1, "old.example.net")],
      present(cname(S1, T1)),
    );
    expect(brief(forcedChanges(d.conflicts)).map((s) => s.replace(/ \(.*\)$/, ""))).toEqual([
      `delete ${S1} TXT`,
      `update ${S1} CNAME`,
    ]);
  });
});

describe("unconverged", () => {
  const written: Change[] = [
    { action: "create", name: S1, type: "CNAME", before: null, after: cname(S1, T1) },
    { action: "delete", name: S2, type: "TXT", before: { name: S2, type: "TXT", ttl: 1, values: ["x"] }, after: null },
  ];

  it("is empty when the re-read shows what was written", () => {
    expect(unconverged(written, [cname(`${S1.toUpperCase()}.`, `${T1}.`)])).toEqual([]);
  });

  it("names every record that did not take (BIND ignores a CNAME added beside other data)", () => {
    expect(unconverged(written, [{ name: S2, type: "TXT", ttl: 1, values: ["x"] }])).toEqual([
      `${S1} CNAME is missing after the write (the server accepted it but did not store it)`,
      `${S2} TXT still exists after its delete`,
    ]);
    expect(unconverged(written, [cname(S1, T1, 60)])).toEqual([`${S1} CNAME differs after the write (ttl 60 -> 3600)`]);
  });
});

describe("sortSmall", () => {
  it("orders as Array.prototype.sort does, with and without a compare function", () => {
    const byLength = (a: string, b: string) => a.length - b.length;
    const cases: string[][] = [
      [],
      ["b"],
      ["b", "a"],
      ["a", "b"],
      ["B", "a"],
      ["10", "9"],
      ["c", "a", "b"],
      ["aa", "b"],
    ];
    for (const c of cases) {
      expect(sortSmall([...c]), JSON.stringify(c)).toEqual([...c].sort());
      expect(sortSmall([...c], byLength), JSON.stringify(c)).toEqual([...c].sort(byLength));
    }
    // Equal under the compare function: the order given stays (sort is stable).
    expect(sortSmall(["bb", "aa"], byLength)).toEqual(["bb", "aa"]);
    const numbers = [10, 9];
    expect(sortSmall(numbers)).toEqual([10, 9].sort());
    // In place, as sort is.
    const two = ["z", "y"];
    expect(sortSmall(two)).toBe(two);
    expect(two).toEqual(["y", "z"]);
  });
});

describe("normaliseSet", () => {
  it("returns a set that is already normal as it is, and copies any other", () => {
    const normal: RecordSet = {
      name: "selector1._domainkey.example.com",
      type: "CNAME",
      ttl: 3600,
      values: ["a.example"],
    };
    expect(normaliseSet(normal)).toBe(normal);
    const txt: RecordSet = { name: "example.com", type: "TXT", ttl: 300, values: ["b", "a"] };
    const copied = normaliseSet(txt);
    expect(copied).not.toBe(txt);
    expect(copied.values).toEqual(["a", "b"]);
    expect(txt.values).toEqual(["b", "a"]);
    // Sorted as sort() does, by code units: "B" before "a".
    const upper: RecordSet = { ...txt, values: ["B", "a"] };
    expect(normaliseSet(upper)).toBe(upper);
    for (const odd of [
      { ...normal, type: "cname" },
      { ...normal, name: "Selector1._domainkey.example.com" },
      { ...normal, name: "selector1._domainkey.example.com." },
      { ...normal, values: ["A.example."] },
      { ...normal, values: ["b.example", "a.example"] },
    ]) {
      const n = normaliseSet(odd);
      expect(n, JSON.stringify(odd)).not.toBe(odd);
      expect(normaliseSet(n), JSON.stringify(odd)).toBe(n);
      expect(n.type).toBe("CNAME");
      expect(n.name).toBe("selector1._domainkey.example.com");
    }
  });
});
