import { startValkey, startValkeyCluster } from "@monarch/sandbox";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    valkeyUrl: string;
    clusterNodes: string[];
  }
}

/** One private server and one 3-primary cluster for the whole run; both gone afterwards. */
export default async function setup(project: TestProject) {
  const [server, cluster] = await Promise.all([startValkey(), startValkeyCluster()]);
  project.provide("valkeyUrl", server.url);
  project.provide(
    "clusterNodes",
    cluster.nodes.map(({ host, port }) => `${host}:${port}`),
  );
  return async () => {
    await Promise.all([server.stop(), cluster.stop()]);
  };
}
