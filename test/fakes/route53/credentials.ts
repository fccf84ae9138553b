/**
 * The Route 53 provider takes credentials only from the SDK's default chain, which reads
 * process.env. Tests and benchmarks put test-only values there, point the shared config files at
 * paths that do not exist and turn off instance metadata, so the chain never leaves loopback.
 */
import path from "node:path";

export interface TestCredentials {
  /** Put back every variable as it was. */
  restore(): void;
}

/** `dir` is a temporary folder of the caller's (the non-existent config files live there). */
export function useTestCredentials(dir: string, label = "TEST"): TestCredentials {
  const testEnv: Record<string, string> = {
    AWS_ACCESS_KEY_ID: `AKID${label.toUpperCase()}`,
    AWS_SECRET_ACCESS_KEY: `${label.toLowerCase()}-secret-not-real`,
    AWS_CONFIG_FILE: path.join(dir, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const cleared = ["AWS_PROFILE", "AWS_SESSION_TOKEN"];
  const saved = new Map([...Object.keys(testEnv), ...cleared].map((k) => [k, process.env[k]]));
  Object.assign(process.env, testEnv);
  for (const k of cleared) delete process.env[k];
  return {
    restore() {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
