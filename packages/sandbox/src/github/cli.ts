#!/usr/bin/env node
// Runs the GitHub simulator by hand, seeded with a demo template repository and team repositories:
//   node packages/sandbox/dist/github/cli.js [--port 0] [--time-scale 1]
// then point Octokit (baseUrl) or curl at the URL it prints, with the token it prints.
import { parseArgs } from "node:util";
import { seedGitHubDemo } from "./demo.js";
import { startGitHubSimulator } from "./simulator.js";

const USAGE =
  "usage: github [--port 0] [--time-scale 1]  (port 0 picks a free one; time scale 100: a minute lasts 600 ms)";

function optionsFromArgs(): { port: number; timeScale: number } | undefined {
  try {
    const { values } = parseArgs({
      options: { port: { type: "string", default: "0" }, "time-scale": { type: "string", default: "1" } },
    });
    const port = Number(values.port);
    const timeScale = Number(values["time-scale"]);
    const valid =
      /^\d{1,5}$/.test(values.port) && port <= 65_535 && Number.isFinite(timeScale) && timeScale > 0;
    return valid ? { port, timeScale } : undefined;
  } catch {
    return undefined;
  }
}

const options = optionsFromArgs();
if (!options) {
  console.error(USAGE);
  process.exit(2);
}

try {
  const simulator = await startGitHubSimulator({
    port: options.port,
    limits: { timeScale: options.timeScale },
    onRequest: (request) => {
      const refused = request.refusedBy ? ` refused by the ${request.refusedBy} limit` : "";
      const violation = request.violation ? " (VIOLATION: the client had been told to wait)" : "";
      const fault = request.fault ? ` [${request.fault}]` : "";
      console.log(`${request.method} ${request.path} ${request.status}${refused}${violation}${fault}`);
    },
  });
  const demo = seedGitHubDemo(simulator);
  console.log(`GitHub API simulator on ${simulator.url}; Ctrl-C stops it`);
  console.log(`token: ${demo.token} (user ${demo.login}, write access to the demo repositories)`);
  console.log(`template: ${demo.source}; targets: ${demo.targets.join(", ")}`);
  console.log(
    `try: curl -H "Authorization: token ${demo.token}" ${simulator.url}/repos/${demo.source}/issues`,
  );
  const stop = () => void simulator.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(`cannot listen on 127.0.0.1:${options.port}: ${(error as Error).message}`);
  process.exitCode = 1;
}
