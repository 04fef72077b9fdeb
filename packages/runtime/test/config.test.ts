import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, loadConfig, secret } from "../src/config.js";

const shape = {
  PORT: z.coerce.number().int().min(1).max(65_535),
  VALKEY_URL: z.string().url(),
  GITHUB_TOKEN: secret(z.string().min(40, "must be a GitHub token (40 characters or more)")),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
};

describe("loadConfig", () => {
  it("returns typed values with defaults, and the secret values to scrub from logs", () => {
    const token = "ghp_".padEnd(40, "x");
    const { config, secretValues } = loadConfig("ingest", shape, {
      envFile: false,
      env: { PORT: "8080", VALKEY_URL: "redis://localhost:6379", GITHUB_TOKEN: token },
    });
    expect(config).toEqual({
      PORT: 8080,
      VALKEY_URL: "redis://localhost:6379",
      GITHUB_TOKEN: token,
      LOG_LEVEL: "info",
    });
    expect(secretValues).toEqual([token]);
  });

  it("lists every missing or invalid variable in one message, never echoing a secret", () => {
    const leaked = "ghp_too_short_but_still_secret";
    let error: unknown;
    try {
      loadConfig("ingest", shape, {
        envFile: false,
        env: { PORT: "99999", GITHUB_TOKEN: leaked, LOG_LEVEL: "loud" },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message, problems } = error as ConfigError;
    expect(problems).toHaveLength(4);
    expect(message).toMatch(/^ingest cannot start: its environment has 4 problem\(s\):/);
    expect(message).toMatch(/PORT \(set\): .*65535/);
    expect(message).toMatch(/VALKEY_URL \(not set\): /);
    expect(message).toMatch(/GITHUB_TOKEN \(set\): must be a GitHub token \(40 characters or more\)/);
    expect(message).toMatch(/LOG_LEVEL \(set\): .*"debug"/);
    expect(message).not.toContain(leaked);
    expect(message).not.toContain("loud");
  });

  it("checks rules between variables once each is valid, and only then", () => {
    const env = { PORT: "8080", VALKEY_URL: "redis://localhost:6379", GITHUB_TOKEN: "t".repeat(40) };
    const check = (config: { PORT: number }) =>
      config.PORT < 10_000 ? ["PORT: use 10000 or above here"] : [];
    expect(() => loadConfig("ingest", shape, { envFile: false, env, check })).toThrow(
      /^ingest cannot start: its environment has 1 problem\(s\):\n {2}- PORT: use 10000 or above here$/,
    );
    expect(
      loadConfig("ingest", shape, { envFile: false, env: { ...env, PORT: "10000" }, check }).config.PORT,
    ).toBe(10_000);
    // A variable that is invalid on its own is reported as such; the rule never sees it.
    let checked = false;
    const spy = () => {
      checked = true;
      return [];
    };
    expect(() =>
      loadConfig("ingest", shape, { envFile: false, env: { ...env, PORT: "x" }, check: spy }),
    ).toThrow(ConfigError);
    expect(checked).toBe(false);
  });

  it("reads a .env file, with the process environment taking precedence", () => {
    const folder = mkdtempSync(join(tmpdir(), "monarch-env-"));
    const envFile = join(folder, ".env");
    writeFileSync(
      envFile,
      `PORT=3000\nVALKEY_URL="redis://from-file:6379"\n# a comment\nGITHUB_TOKEN=${"t".repeat(40)}`,
    );
    const { config } = loadConfig("ingest", shape, { envFile, env: { PORT: "4000" } });
    expect(config).toMatchObject({ PORT: 4000, VALKEY_URL: "redis://from-file:6379" });
  });
});
