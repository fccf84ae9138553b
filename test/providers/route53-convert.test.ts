/**
 * Route 53 name forms (providers/route53/convert.ts): the wire form with octal escapes (Route 53
 * developer guide, "DNS domain name format") and the list order (API reference,
 * ListResourceRecordSets). The common names take a fast path; these pin both paths to the
 * documented forms.
 */
import { describe, expect, it } from "vitest";
import {
  compareRoute53,
  fromResourceRecordSet,
  fromWireName,
  route53Key,
  toWireName,
} from "../../providers/route53/convert.js";

describe("route53 name forms", () => {
  it("writes plain names lowercase with one trailing dot", () => {
    expect(toWireName("Selector1._DomainKey.Example.COM")).toBe("selector1._domainkey.example.com.");
    expect(toWireName("selector2._domainkey.mail-eu.example.com.")).toBe("selector2._domainkey.mail-eu.example.com.");
  });

  it("escapes every other byte as \\ooo, UTF-8 bytes included", () => {
    expect(toWireName("*.example.com")).toBe("\\052.example.com.");
    expect(toWireName("a b.example")).toBe("a\\040b.example.");
    expect(toWireName("bücher.example")).toBe("b\\303\\274cher.example.");
  });

  it("reads back what it writes", () => {
    for (const name of ["selector1._domainkey.example.com", "*.example.com", "bücher.example", "a+b.example"])
      expect(fromWireName(toWireName(name))).toBe(name);
  });

  it("orders names as Route 53 lists them: reversed labels compared as one string", () => {
    expect(route53Key("www.Example.com.")).toBe("com.example.www.");
    // '-' (45) sorts before '.' (46): mail-eu's names come before mail's.
    const names = ["selector1._domainkey.mail.example.com", "selector1._domainkey.mail-eu.example.com", "example.com"];
    const byKey = [...names].sort((a, b) => (route53Key(a) < route53Key(b) ? -1 : 1));
    const byCompare = [...names].sort((a, b) => compareRoute53({ name: a }, { name: b }));
    expect(byKey).toEqual([
      "example.com",
      "selector1._domainkey.mail-eu.example.com",
      "selector1._domainkey.mail.example.com",
    ]);
    expect(byCompare).toEqual(byKey);
  });
});

describe("route53 record sets kept apart from the answer they came in", () => {
  it("takes the caller's name and the one string of a known type", () => {
    const name = "selector1._domainkey.example.com";
    const rr = {
      Name: "selector1._domainkey.example.com.",
      Type: "CNAME" as const,
      TTL: 3600,
      ResourceRecords: [{ Value: "Selector1-Example-Com._domainkey.contoso.onmicrosoft.com." }],
    };
    const rs = fromResourceRecordSet(rr, name);
    expect(rs).toEqual({
      name,
      type: "CNAME",
      ttl: 3600,
      values: ["selector1-example-com._domainkey.contoso.onmicrosoft.com"],
    });
    expect(rs.name).toBe(name);
    // Without a name it is read from the record set; a type in another case is upper-cased.
    expect(fromResourceRecordSet({ ...rr, Type: "cname" as never })).toMatchObject({ name, type: "CNAME" });
    expect(
      fromResourceRecordSet({
        Name: "example.com.",
        Type: "TXT",
        TTL: 300,
        ResourceRecords: [{ Value: '"v=spf1" " -all"' }],
      }),
    ).toEqual({ name: "example.com", type: "TXT", ttl: 300, values: ["v=spf1 -all"] });
  });
});
