import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebAPIPlatformError, WebClient } from "@slack/web-api";
import { beforeAll, describe, expect, it } from "vitest";
import { builtEntry } from "../src/index.js";
import { watch } from "./support/watch.js";

describe("the Slack simulator CLI", () => {
  let cli: string;
  beforeAll(() => {
    cli = join(dirname(builtEntry(fileURLToPath(new URL("..", import.meta.url)))), "slack/cli.js");
  });

  it("prints its URL, a demo token and channel, then each message and refusal; a signal stops it", async () => {
    const child = spawn(process.execPath, [cli], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = once(child, "close");
    try {
      const stdout = watch(child.stdout);
      const [, url = ""] = await stdout.waitFor(
        /Slack Web API simulator on (http:\/\/127\.0\.0\.1:\d+\/api\/);/,
      );
      const [, token = ""] = await stdout.waitFor(/ {2}token {4}(\S+)/);
      const [, channel = ""] = await stdout.waitFor(/ {2}channel {2}(C\w+) {2}#cohort-demo/);
      const web = new WebClient(token, { slackApiUrl: url, retryConfig: { retries: 0 } });

      const { ts = "" } = await web.chat.postMessage({
        channel,
        text: "Migrating cider-falls\n0 of 12 issues",
      });
      await stdout.waitFor(
        new RegExp(`posted {3}${channel} {2}${ts}\\n {4}Migrating cider-falls\\n {4}0 of 12`),
      );
      await web.chat.update({ channel, ts, text: "Migrated cider-falls", blocks: [{ type: "divider" }] });
      await stdout.waitFor(new RegExp(`updated {2}${channel} {2}${ts} {2}edit 1 {2}1 blocks\\n {4}Migrated`));
      await expect(web.chat.postMessage({ channel: "C0NOWHERE", text: "lost" })).rejects.toThrow(
        WebAPIPlatformError,
      );
      await stdout.waitFor(/refused {2}200 {2}chat\.postMessage {2}channel_not_found\n/);

      child.kill("SIGINT");
      expect(await exited).toEqual([0, null]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses bad arguments with its usage", async () => {
    const child = spawn(process.execPath, [cli, "--port", "slack"], { stdio: ["ignore", "pipe", "pipe"] });
    const stderr = watch(child.stderr);
    expect(await once(child, "close")).toEqual([2, null]);
    expect(stderr.text()).toMatch(/^usage: slack \[--port 0\]/);
  });
});
