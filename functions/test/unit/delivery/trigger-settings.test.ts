/**
 * The delivery budget assumes two things of the deployed trigger that only
 * extension.yaml can say: its timeout and that a failed invocation's event
 * comes again. A change on either side that the other does not follow breaks
 * "never stuck" without failing any other test.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { FUNCTION_TIMEOUT_MS, LEASE_GRACE_MS, LEASE_MS, WRITE_RETRY_BUDGET_MS } from "../../../src/shared/budget";
import { PROCESS_QUEUE_RETRIES } from "../../../src/handlers/process-queue";

interface Resource {
  name: string;
  properties: { serviceConfig?: { timeoutSeconds?: number }; eventTrigger?: { retryPolicy?: string } };
}

const spec = parse(readFileSync(join(__dirname, "..", "..", "..", "..", "extension.yaml"), "utf8")) as { resources: Resource[] };
const processQueue = spec.resources.find((r) => r.name === "processQueue");

test("processQueue's timeout in extension.yaml is the budget's function timeout", () => {
  expect(processQueue?.properties.serviceConfig?.timeoutSeconds).toBe(FUNCTION_TIMEOUT_MS / 1000);
});

test("the timeout outlasts the slowest claim, the lease and its grace", () => {
  expect(FUNCTION_TIMEOUT_MS).toBeGreaterThanOrEqual(2 * WRITE_RETRY_BUDGET_MS + LEASE_MS + LEASE_GRACE_MS);
});

test("processQueue's event retry policy in extension.yaml is what the handler assumes", () => {
  expect(processQueue?.properties.eventTrigger?.retryPolicy).toBe(PROCESS_QUEUE_RETRIES ? "RETRY_POLICY_RETRY" : "RETRY_POLICY_DO_NOT_RETRY");
});
