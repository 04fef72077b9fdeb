import { randomUUID } from "node:crypto";
import { afterEach, inject } from "vitest";
import { closeClient, createClient, type ValkeyClient, type ValkeyEndpoint } from "../../src/index.js";

/** The two shapes of deployment every suite runs against. */
export const deployments = [
  { name: "single server", endpoint: (): ValkeyEndpoint => ({ url: inject("valkeyUrl") }) },
  { name: "3-primary cluster", endpoint: (): ValkeyEndpoint => ({ clusterNodes: inject("clusterNodes") }) },
] as const;

const opened: ValkeyClient[] = [];

/** A client closed after the test. */
export function connect(endpoint: ValkeyEndpoint): ValkeyClient {
  const client = createClient({ endpoint, name: "monarch-test" });
  opened.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => closeClient(client)));
});

/** A key name no other test uses, with a hash tag so keys derived from it share its slot. */
export function uniqueName(prefix: string): string {
  return `{test:${prefix}:${randomUUID().slice(0, 8)}}`;
}
