/**
 * Step outputs and the job summary, written to the files the runner names (GitHub Actions
 * documentation, "Workflow commands for GitHub Actions": GITHUB_OUTPUT and GITHUB_STEP_SUMMARY).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";

/**
 * `name<<DELIMITER`, the value, `DELIMITER`: the multiline form, safe for any value; the
 * delimiter is random so a value cannot end it early (the form the documentation describes).
 */
export function formatOutput(name: string, value: string): string {
  let delimiter = `ghadelimiter_${randomUUID()}`;
  while (value.includes(delimiter)) delimiter = `ghadelimiter_${randomUUID()}`;
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

export function writeOutputs(file: string | undefined, outputs: Record<string, string>): void {
  if (!file) return;
  fs.appendFileSync(
    file,
    Object.entries(outputs)
      .map(([k, v]) => formatOutput(k, v))
      .join(""),
  );
}

/** A step summary may hold 1 MiB (GitHub Actions documentation, "Adding a job summary"). */
export const SUMMARY_LIMIT = 1024 * 1024;

export function appendSummary(file: string | undefined, markdown: string): void {
  if (!file) return;
  fs.appendFileSync(file, markdown.endsWith("\n") ? markdown : `${markdown}\n`);
}
