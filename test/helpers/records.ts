/** Small builders the provider tests share: record sets, changes, and a caught failure. */
import { expect } from "vitest";
import { ProviderError } from "../../src/core/errors.js";
import type { Change, RecordSet } from "../../src/core/types.js";

export const cname = (name: string, target: string, ttl = 3600): RecordSet => ({
  name,
  type: "CNAME",
  ttl,
  values: [target],
});
export const txt = (name: string, value: string, ttl = 3600): RecordSet => ({
  name,
  type: "TXT",
  ttl,
  values: [value],
});

/** What a real Microsoft 365 zone holds beside the selectors: dkimsync must never touch these. */
export function foreignRecords(zone: string): RecordSet[] {
  return [
    { name: zone, type: "MX", ttl: 3600, values: [`10 ${zone.replace(/\./g, "-")}.mail.protection.outlook.com`] },
    txt(zone, "v=spf1 include:spf.protection.outlook.com -all"),
    txt(`_dmarc.${zone}`, "v=DMARC1; p=none"),
    txt(`google._domainkey.${zone}`, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"),
    cname(`s1._domainkey.${zone}`, "s1.domainkey.u1234.wl.sendgrid.net"),
    cname(`autodiscover.${zone}`, "autodiscover.outlook.com"),
  ];
}

export const create = (after: RecordSet): Change => ({
  action: "create",
  name: after.name,
  type: after.type,
  before: null,
  after,
});
export const update = (before: RecordSet, after: RecordSet): Change => ({
  action: "update",
  name: after.name,
  type: after.type,
  before,
  after,
});
export const remove = (before: RecordSet): Change => ({
  action: "delete",
  name: before.name,
  type: before.type,
  before,
  after: null,
});

/** The error a promise rejects with, so a test can look at more than the message. */
export async function failure<E extends Error = Error>(p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (err) {
    return err as E;
  }
  throw new Error("expected a failure");
}

/** The ProviderError a provider call rejects with; fails the test on any other outcome. */
export async function providerFailure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}
