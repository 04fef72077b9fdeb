import { startValkey } from "@monarch/sandbox";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    valkeyUrl: string;
  }
}

/** One private server for the run; gone afterwards with its data. */
export default async function setup(project: TestProject) {
  const server = await startValkey();
  project.provide("valkeyUrl", server.url);
  return () => server.stop();
}
