/**
 * ADR-0060 and security-baseline policy pack for platform-databases.
 *
 *   pulumi preview --policy-pack policy        (from the repository root)
 *
 * Mandatory violations fail the preview; `loosened-defaults` is advisory.
 * The rules are pure functions in rules.ts, wrapped in policies.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("platform-databases", {
  description: "ADR-0060 naming, least-privilege roles, and the Cloud SQL / RDS security baseline.",
  enforcementLevel: "mandatory",
  policies,
});
