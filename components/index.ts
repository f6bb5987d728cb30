/**
 * The library's entry point: another Pulumi program builds ADR-0060's
 * platform with `new DatabasePlatform(name, { config })`, from a config it
 * reads with readStackConfig (Pulumi config) or builds with parseStackConfig.
 */
export { DatabasePlatform } from "./platform/database-platform";
export type { DatabasePlatformArgs } from "./platform/database-platform";
export { PlatformPlanError } from "./platform/platform-plan";
export { readStackConfig } from "./config/read-config";
export type { ResolvedStackConfig } from "./config/read-config";
export { ConfigError, parseStackConfig } from "./config/stack-config";
export type { ServiceConfig, StackConfig } from "./config/stack-config";
