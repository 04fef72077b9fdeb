import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Octokit } from "@octokit/rest";
import { beforeAll, describe, expect, it } from "vitest";
import { builtEntry } from "../src/index.js";
import { watch } from "./support/watch.js";

describe("github CLI", () => {
  let cli: string;
  beforeAll(() => {
    cli = join(dirname(builtEntry(fileURLToPath(new URL("..", import.meta.url)))), "github/cli.js");
  });

  it("prints its URL and a demo token, serves the demo repositories, logs requests, stops on a signal", async () => {
    const child = spawn(process.execPath, [cli, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = once(child, "close");
    try {
      const stdout = watch(child.stdout);
      const [, url = ""] = await stdout.waitFor(/GitHub API simulator on (http:\/\/127\.0\.0\.1:\d+)/);
      const [, token = ""] = await stdout.waitFor(/token: (\S+)/);
      const octokit = new Octokit({ auth: token, baseUrl: url });
      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
        owner: "monarch-demo",
        repo: "template",
        direction: "asc",
      });
      expect(issues.filter((issue) => !issue.pull_request).map((issue) => issue.title)).toEqual([
        "Create the repository and invite the team",
        "Set up the database",
        "As a user, I can sign in",
        "As a user, I can list my orders",
        "As an admin, I can see every order",
      ]);
      const created = await octokit.rest.issues.create({
        owner: "monarch-demo",
        repo: "team-1",
        title: "hello",
      });
      expect(created.status).toBe(201);
      await stdout.waitFor(/POST \/repos\/monarch-demo\/team-1\/issues 201/);
      child.kill("SIGTERM");
      expect(await exited).toEqual([0, null]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses bad arguments with its usage", async () => {
    const child = spawn(process.execPath, [cli, "--time-scale", "fast"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stderr = watch(child.stderr);
    expect(await once(child, "close")).toEqual([2, null]);
    expect(stderr.text()).toMatch(/^usage: github \[--port 0\]/);
  });
});
