/**
 * Two YAML errors a user must be able to act on: a file with a second document says at which
 * line it starts, and a key repeated inside a flow mapping (`{ ttl: 300, ttl: 600 }`) is named,
 * not the key that opens the line.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { InputError } from "../../src/core/errors.js";

function loadError(text: string): InputError {
  try {
    parseConfig(text, "dkim.zones.yaml");
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error("expected an InputError");
}

const PROVIDERS = "tenant: contoso\nproviders:\n  zones: { type: yaml, directory: ./zones }\n";

describe("YAML messages", () => {
  it("gives the line where a second document starts", () => {
    const err = loadError(`${PROVIDERS}---\ndomains:\n  example.com: { provider: zones }\n`);
    expect(err.message).toBe(
      "dkim.zones.yaml:4: the file holds more than one YAML document; dkimsync reads exactly one",
    );
    expect(err.hint).toContain("remove the document marker at line 4");
  });

  it("ignores a leading --- and comments when finding the second document", () => {
    const err = loadError(`# config\n---\n${PROVIDERS}...\n---\ndomains: {}\n`);
    expect(err.message).toMatch(/^dkim\.zones\.yaml:6: the file holds more than one YAML document/);
  });

  it("names the key repeated in a flow mapping", () => {
    const err = loadError(`${PROVIDERS}domains:\n  example.com: { provider: zones, ttl: 300, ttl: 600 }\n`);
    expect(err.message).toMatch(
      /^dkim\.zones\.yaml:5: duplicate key "ttl"; each key may appear only once in a mapping/,
    );
  });

  it("names a quoted key repeated in a flow mapping, and still a repeated block key", () => {
    expect(loadError(`${PROVIDERS}domains: { "a.example": { provider: zones }, 'a.example': {} }\n`).message).toMatch(
      /duplicate key "a\.example"/,
    );
    expect(
      loadError(`${PROVIDERS}domains:\n  b.example:\n    provider: zones\n  b.example:\n    provider: zones\n`).message,
    ).toMatch(/^dkim\.zones\.yaml:7: duplicate key "b\.example"/);
  });
});
