/** The problems a stack config is refused with (a ConfigError is expected). */
import { expect } from "vitest";
import { ConfigError, parseStackConfig } from "../../components/config/stack-config";
import type { RawConfig } from "../../components/config/stack-config";

export function problemsOf(raw: RawConfig): string[] {
  try {
    parseStackConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}
