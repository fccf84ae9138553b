import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { headersCommand, renderHeaders } from "../../src/commands/headers.js";
import { DkimsyncError } from "../../src/core/errors.js";
import {
  DKIM_RESULT_MEANING,
  explainHeaders,
  parseAuthResults,
  parseDkimSignature,
  readHeaderBlock,
} from "../../src/headers/analyse.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "headers");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");

function capture() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s), color: false },
  };
}

describe("readHeaderBlock (RFC 5322 2.2.3)", () => {
  it("unfolds continuation lines and stops at the first empty line, with LF or CRLF", () => {
    const lf = "Subject: a\n  folded\n\tline\nX-Test: 1\n\nBody: not a header\n";
    const crlf = lf.replace(/\n/g, "\r\n");
    for (const text of [lf, crlf]) {
      const fields = readHeaderBlock(text);
      expect(fields.map((f) => [f.name, f.value])).toEqual([
        ["Subject", "a  folded\tline"],
        ["X-Test", "1"],
      ]);
    }
  });
});

describe("parseAuthResults (RFC 8601 2.2)", () => {
  it("reads the RFC 8601 B.6 example: authserv-id, two dkim results with comments and header.b", () => {
    const ar = explainHeaders(fixture("rfc8601-examples.eml")).authResults[0];
    expect(ar?.authservId).toBe("mail-router.example.net");
    expect(
      ar?.results.map((r) => [r.method, r.result, r.props["header.d"], r.props["header.b"], r.comments[0]]),
    ).toEqual([
      ["dkim", "pass", "newyork.example.com", "oINEO8hg", "good signature"],
      ["dkim", "fail", "newyork.example.com", "EToRSuvU", "bad signature"],
    ]);
    expect(ar?.nonStandard).toEqual([]);
  });

  it("strips nested comments, keeps quoted strings whole (even with ; inside), and reads CFWS around = and .", () => {
    const ar = explainHeaders(fixture("rfc8601-examples.eml")).authResults[2];
    expect(ar?.authservId).toBe("quoted.example.org");
    expect(ar?.version).toBe("1");
    expect(ar?.results[0]).toMatchObject({
      method: "spf",
      result: "pass",
      props: { "smtp.mailfrom": "odd;user@example.org" },
    });
    expect(ar?.results[0]?.comments).toEqual(["sender (nested (deeply); with ;) ok"]);
    expect(ar?.results[1]).toMatchObject({
      method: "dkim",
      result: "neutral",
      reason: "body hash; mismatch",
      props: { "header.d": "example.org" },
    });
  });

  it("reads `; none` as no result", () => {
    const ar = explainHeaders(fixture("rfc8601-examples.eml")).authResults[3];
    expect(ar).toMatchObject({ authservId: "none.example.org", noResult: true, results: [] });
  });

  it("reads Microsoft's form: no authserv-id, interleaved recipient domain, bestguesspass, compauth, action", () => {
    const report = explainHeaders(fixture("microsoft-interleaved.eml"));
    const ms = report.authResults.find((a) => a.field === "Authentication-Results");
    expect(ms?.authservId).toBeUndefined();
    expect(ms?.interleaved).toEqual(["vger.kernel.org"]);
    expect(ms?.results.map((r) => `${r.method}=${r.result}`)).toEqual([
      "spf=pass",
      "dkim=pass",
      "dmarc=bestguesspass",
      "compauth=pass",
    ]);
    expect(ms?.results[0]?.props["smtp.mailfrom"]).toBe("contoso.com");
    expect(ms?.results[0]?.comments).toEqual(["sender IP is 40.107.22.91"]);
    expect(ms?.results[2]?.extras).toEqual({ action: "none" });
    expect(ms?.results[3]?.reason).toBe("100");
    expect(ms?.nonStandard.join("\n")).toMatch(/no authserv-id/);
    expect(ms?.nonStandard.join("\n")).toMatch(/bestguesspass/);
    const rejected = report.authResults.filter((a) => a.field === "Authentication-Results")[1];
    expect(rejected?.results.find((r) => r.method === "dmarc")?.extras.action).toBe("oreject");
    expect(rejected?.results.find((r) => r.method === "dkim")).toMatchObject({
      result: "none",
      props: { "header.d": "none" },
    });
  });

  it("reads the ARC-Authentication-Results instance and Microsoft's versioned authserv-id", () => {
    const aar = parseAuthResults(
      "ARC-Authentication-Results",
      "i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=contoso.com; arc=none",
    );
    expect(aar).toMatchObject({ instance: 1, authservId: "mx.microsoft.com", version: "1" });
    expect(aar.results.map((r) => r.method)).toEqual(["spf", "arc"]);
  });
});

describe("parseDkimSignature", () => {
  it("reads d, s, a, c, h, t and x as dates, and the b= prefix across folds", () => {
    const sig = parseDkimSignature(
      "v=1; a=rsa-sha256; d=Contoso.com; s=selector1; c=relaxed/relaxed;\r\n\th=From:To : Subject; t=1739784500; x=1740389300;\r\n b=ZmFr\r\n ZXNp Z25h; bh=abc=",
    );
    expect(sig).toMatchObject({
      d: "contoso.com",
      s: "selector1",
      a: "rsa-sha256",
      c: "relaxed/relaxed",
      h: ["from", "to", "subject"],
      bPrefix: "ZmFrZXNp",
    });
    expect(sig.t?.toISOString()).toBe("2025-02-17T09:28:20.000Z");
    expect(sig.x?.toISOString()).toBe("2025-02-24T09:28:20.000Z");
  });
});

describe("explainHeaders", () => {
  it("marks signatures by configured domain and Microsoft 365 selector", () => {
    const r = explainHeaders(fixture("arc-chain.eml"), { domains: ["contoso.com"] });
    expect(r.signatures.map((s) => [s.d, s.s, s.configured, s.m365Selector])).toEqual([
      ["contoso.com", "selector2", true, true],
      ["lists.example.org", "k1", false, false],
    ]);
    expect(r.notes.join("\n")).toMatch(/l=1200/);
    expect(r.notes.join("\n")).toMatch(/d=lists.example.org is not a configured domain/);
  });

  it("assembles the ARC chain by instance, in order, and judges the cv sequence", () => {
    const r = explainHeaders(fixture("arc-chain.eml"));
    expect(r.arc.sets.map((s) => [s.instance, s.seal?.cv, s.seal?.d, s.authResults?.authservId])).toEqual([
      [1, "none", "contoso.com", "mx.microsoft.com"],
      [2, "pass", "lists.example.org", "mx.lists.example.org"],
    ]);
    expect(r.arc.chain).toMatch(/^pass/);
    expect(r.arc.problems).toEqual([]);
    // The AAR of i=2 carries the DMARC policy comment and the DKIM selector.
    expect(r.dkimResults.find((v) => v.source.startsWith("ARC-Authentication-Results i=2"))).toMatchObject({
      domain: "contoso.com",
      selector: "selector2",
      m365Selector: true,
    });
    // Only Authentication-Results (not ARC copies) decide: this message has none.
    expect(r.dkimPass).toBe(false);
  });

  it("reports a broken ARC chain", () => {
    const text = fixture("arc-chain.eml").replace("cv=pass", "cv=fail");
    expect(explainHeaders(text).arc.chain).toBe("fail");
    const gap = fixture("arc-chain.eml").replace(/i=1;/g, "i=3;");
    expect(explainHeaders(gap).arc.problems.join("\n")).toMatch(/instance 1 is missing/);
  });

  it("explains every RFC 8601 2.7.1 DKIM result", () => {
    expect(Object.keys(DKIM_RESULT_MEANING).sort()).toEqual([
      "fail",
      "neutral",
      "none",
      "pass",
      "permerror",
      "policy",
      "temperror",
    ]);
    const r = explainHeaders(fixture("rfc8601-examples.eml"));
    expect(r.dkimResults.map((v) => v.meaning)).toEqual([
      DKIM_RESULT_MEANING.pass,
      DKIM_RESULT_MEANING.fail,
      DKIM_RESULT_MEANING.neutral,
    ]);
  });

  it("keeps header.i and header.b of every dkim= result, and shows them (Gmail's form, with its ARC set)", () => {
    const r = explainHeaders(fixture("gmail-arc.eml"));
    expect(r.dkimResults).toMatchObject([
      {
        source: "ARC-Authentication-Results i=1 (mx.google.com)",
        result: "pass",
        domain: "contoso.com",
        selector: "selector1",
        identity: "@contoso.com",
        b: "Xy12abCD",
      },
      {
        source: "Authentication-Results (mx.google.com)",
        result: "pass",
        domain: "contoso.com",
        selector: "selector1",
        identity: "@contoso.com",
        b: "Xy12abCD",
      },
    ]);
    const text = renderHeaders(r, "text");
    expect(text).toMatch(/dkim=pass d=contoso\.com s=selector1 i=@contoso\.com b=Xy12abCD/);
    expect(renderHeaders(r, "markdown")).toMatch(/\| selector1 \| @contoso\.com \| Xy12abCD \|/);
  });

  it("passes DKIM only for a configured domain when a config is known", () => {
    const text = fixture("microsoft-interleaved.eml");
    expect(explainHeaders(text).dkimPass).toBe(true);
    expect(explainHeaders(text, { domains: ["contoso.com"] }).dkimPass).toBe(true);
    expect(explainHeaders(text, { domains: ["fabrikam.com"] }).dkimPass).toBe(false);
  });
});

describe("headersCommand", () => {
  it("exits 0 on dkim=pass, 2 without one, and renders json with version 1", async () => {
    const { out, io } = capture();
    expect(
      await headersCommand(
        { message: path.join(FIXTURES, "microsoft-interleaved.eml"), verify: false, format: "json" },
        io,
      ),
    ).toBe(0);
    const json = JSON.parse(out.stdout) as { version: number; dkimResults: { result: string; domain?: string }[] };
    expect(json.version).toBe(1);
    expect(json.dkimResults.filter((v) => v.result === "pass").map((v) => v.domain)).toContain("contoso.com");
    const second = capture();
    expect(
      await headersCommand({ message: path.join(FIXTURES, "arc-chain.eml"), verify: false, format: "text" }, second.io),
    ).toBe(2);
    expect(second.out.stdout).toMatch(/ARC chain: pass/);
    expect(second.out.stdout).toMatch(/DKIM: no pass/);
  });

  it("checks d= against the config's domains when the config file exists", async () => {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "dkimsync-headers-"));
    try {
      const cfg = path.join(dir, "dkim.zones.yaml");
      fs.writeFileSync(
        cfg,
        [
          "providers:",
          "  zones:",
          "    type: yaml",
          "    directory: ./zones",
          "domains:",
          "  fabrikam.com:",
          "    provider: zones",
          "    selector1: selector1-fabrikam-com._domainkey.contoso.onmicrosoft.com",
          "    selector2: selector2-fabrikam-com._domainkey.contoso.onmicrosoft.com",
          "",
        ].join("\n"),
      );
      const { out, io } = capture();
      expect(
        await headersCommand(
          { message: path.join(FIXTURES, "microsoft-interleaved.eml"), config: cfg, verify: false, format: "text" },
          io,
        ),
      ).toBe(2);
      expect(out.stdout).toMatch(/d=contoso.com s=selector1 .*not a configured domain/);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });

  it("throws a DkimsyncError (exit 1 in the CLI) when the message cannot be read", async () => {
    const { io } = capture();
    await expect(
      headersCommand({ message: "/nonexistent/message.eml", verify: false, format: "text" }, io),
    ).rejects.toBeInstanceOf(DkimsyncError);
  });
});

describe("advice for Microsoft 365 results", () => {
  const m365 = (results: string, from = "Alice <alice@contoso.com>", sig = "") =>
    [
      `Authentication-Results: spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=contoso.com; dkim=${results}`,
      ...(sig ? [`DKIM-Signature: ${sig}`] : []),
      `From: ${from}`,
      "Subject: test",
      "",
      "body",
    ].join("\r\n");

  it("says that d=<tenant>.onmicrosoft.com means DKIM is not enabled for the sending domain, and how to enable it", () => {
    const text = m365(
      "pass (signature was verified) header.d=contoso.onmicrosoft.com;dmarc=fail action=none header.from=contoso.com;compauth=pass reason=100",
      "Alice <alice@contoso.com>",
      "v=1; a=rsa-sha256; c=relaxed/relaxed; d=contoso.onmicrosoft.com; s=selector1-contoso-com; h=From:Subject; bh=x; b=y",
    );
    const r = explainHeaders(text, { domains: ["contoso.com"] });
    const note = r.notes.find((n) => n.startsWith("d=contoso.onmicrosoft.com"));
    expect(note).toMatch(
      /tenant's initial domain: Microsoft 365 signs with it when DKIM signing is not enabled for the sending domain contoso\.com/,
    );
    expect(note).toMatch(/dkimsync exchange/);
    expect(renderHeaders(r, "text")).toContain("DKIM signing is not enabled for the sending domain contoso.com");
  });

  it("explains the common compauth reason codes and names the fix for a failure", () => {
    const fail = explainHeaders(
      m365(
        "none (message not signed) header.d=none;dmarc=fail action=oreject header.from=fabrikam.com;compauth=fail reason=001",
        "bob@fabrikam.com",
      ),
    );
    const all = [...fail.notes, ...fail.authResults.flatMap((a) => a.nonStandard)].join("\n");
    expect(all).toMatch(
      /compauth=fail reason=001 is Microsoft's composite authentication: implicit authentication failed: .*no email authentication records.*; fix: .*DMARC/,
    );
    expect(all).toMatch(/dkim=none: the message carries no signature .*enable DKIM/);
    expect(renderHeaders(fail, "text")).toMatch(
      /compauth=fail reason=001 \(Microsoft composite authentication: implicit authentication failed/,
    );
    const pass = explainHeaders(
      m365("pass header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100"),
    );
    expect(pass.authResults[0]?.nonStandard.join("\n")).toMatch(/compauth=pass reason=100 .*: passed/);
    expect(pass.authResults[0]?.nonStandard.join("\n")).not.toContain("fix:");
    for (const [code, meaning] of [
      ["000", /explicit authentication failed/],
      ["002", /prohibits/],
      ["010", /accepted domains/],
      ["130", /ARC/],
      ["201", /soft-passed/],
      ["601", /accepted domains/],
    ] as const) {
      const r = explainHeaders(m365(`pass header.d=contoso.com;compauth=fail reason=${code}`));
      expect(r.authResults[0]?.nonStandard.join("\n")).toMatch(meaning);
    }
  });

  it("names a fix for each failing DKIM result", () => {
    for (const [result, fix] of [
      ["fail", /dkimsync verify --domain contoso\.com/],
      ["temperror", /try|for now/],
      ["permerror", /missing or unusable/],
      ["policy", /Rotate-DkimSigningConfig -KeySize 2048/],
    ] as const) {
      const r = explainHeaders(m365(`${result} header.d=contoso.com header.s=selector1`));
      expect(r.notes.join("\n")).toMatch(fix);
    }
  });

  it("says when a signature has no signing time or expiry instead of printing dashes", () => {
    const r = explainHeaders(
      m365(
        "pass header.d=contoso.com",
        "a@contoso.com",
        "v=1; a=rsa-sha256; d=contoso.com; s=selector1; h=From; bh=x; b=y",
      ),
    );
    const text = renderHeaders(r, "text");
    expect(text).toContain("no signing time (t=), no expiry (x=)");
    expect(text).not.toContain("signed -");
  });
});
