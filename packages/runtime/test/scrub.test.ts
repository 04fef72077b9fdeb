import { describe, expect, it } from "vitest";
import { secretScrubber } from "../src/logging/scrub.js";

describe("secretScrubber", () => {
  const scrub = secretScrubber(["s3cr3t-value", 'with"quote']);

  it.each([
    ['{"headers":{"authorization":"Bearer abc"}}', '{"headers":{"authorization":"[REDACTED]"}}'],
    ['{"Authorization":"Basic x"}', '{"Authorization":"[REDACTED]"}'],
    [
      '{"a":{"b":{"refreshToken":"r-1","x-api-key":"k","db_password":"p"}}}',
      '{"a":{"b":{"refreshToken":"[REDACTED]","x-api-key":"[REDACTED]","db_password":"[REDACTED]"}}}',
    ],
    ['{"token":"esc\\"aped"}', '{"token":"[REDACTED]"}'],
    [
      '{"msg":"failed with s3cr3t-value twice: s3cr3t-value"}',
      '{"msg":"failed with [REDACTED] twice: [REDACTED]"}',
    ],
    ['{"note":"a with\\"quote b"}', '{"note":"a [REDACTED] b"}'],
  ])("cleans %s", (line, expected) => {
    expect(scrub(line)).toBe(expected);
  });

  it("leaves fields that only look alike, and short secret values, alone", () => {
    const line = '{"maxTokens":"5","tokenCount":"3","msg":"secretary"}';
    expect(scrub(line)).toBe(line);
    expect(secretScrubber(["abc"])('{"msg":"abcdef"}')).toBe('{"msg":"abcdef"}');
  });
});
