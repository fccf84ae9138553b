/** The signing_config check: what Microsoft 365's own export says about a domain's DKIM. */
import type { Selector } from "../core/names.js";
import type { SigningConfigEntry } from "../m365/targets.js";
import type { CheckStatus } from "./report.js";

export function signingConfigCheck(
  domain: string,
  entry: SigningConfigEntry,
  active: Selector | undefined,
  now: Date,
  dnsOk: boolean,
): { status: CheckStatus; message: string; details: Record<string, unknown> } {
  const details: Record<string, unknown> = {
    status: entry.status ?? null,
    enabled: entry.enabled ?? null,
    activeSelector: active ?? null,
    rotateOnDate: entry.rotateOnDate?.toISOString() ?? null,
    keyCreationTime: entry.keyCreationTime?.toISOString() ?? null,
    selector1KeySize: entry.selector1KeySize ?? null,
    selector2KeySize: entry.selector2KeySize ?? null,
  };
  const facts: string[] = [];
  if (active) facts.push(`${active} active`);
  if (entry.rotateOnDate) {
    const when = entry.rotateOnDate.toISOString();
    if (entry.rotateOnDate.getTime() > now.getTime())
      facts.push(
        `rotation on ${when}${entry.selectorAfterRotateOnDate ? ` to ${entry.selectorAfterRotateOnDate}` : ""}`,
      );
    else facts.push(`last rotation ${when}`);
  }
  if (entry.selector1KeySize !== undefined || entry.selector2KeySize !== undefined) {
    facts.push(`key sizes ${entry.selector1KeySize ?? "?"}/${entry.selector2KeySize ?? "?"}`);
  }
  const tail = facts.length ? ` (${facts.join(", ")})` : "";
  const status = (entry.status ?? "").toLowerCase();
  if (status === "valid") {
    if (entry.enabled === false) {
      return {
        status: "warn",
        message: `Valid but not enabled${tail}: run Set-DkimSigningConfig -Identity ${domain} -Enabled $true`,
        details,
      };
    }
    return { status: "pass", message: `Valid${tail}`, details };
  }
  if (status === "cnamemissing") {
    if (dnsOk) {
      return {
        status: "info",
        message: `CnameMissing, but DNS is right: wait for Microsoft to sync (up to 4 days), then enable DKIM${tail}`,
        details,
      };
    }
    return {
      status: "fail",
      message: `CnameMissing and the CNAMEs are not published correctly yet: run dkimsync apply${tail}`,
      details,
    };
  }
  if (status === "nodkimkeys") {
    return {
      status: "fail",
      message: `NoDKIMKeys: run New-DkimSigningConfig -DomainName ${domain} -Enabled $false in Exchange Online PowerShell`,
      details,
    };
  }
  if (status === "") return { status: "info", message: `no Status in the export${tail}`, details };
  return { status: "fail", message: `Status ${entry.status} is not Valid${tail}`, details };
}
