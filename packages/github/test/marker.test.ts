import { describe, expect, it } from "vitest";
import { marker, parseMarker, repositoryRef, sourceKey, withMarker } from "../src/index.js";

const source = repositoryRef("https://github.com/NSS-Group-Projects/cider-falls");

describe("markers", () => {
  it("appends Monarch's marker to a body and reads it back", () => {
    expect(marker(source, 12)).toBe("<!-- monarch:source=nss-group-projects/cider-falls#12 -->");
    const body = withMarker("Do the thing.\n", source, 12);
    expect(body).toBe("Do the thing.\n\n<!-- monarch:source=nss-group-projects/cider-falls#12 -->");
    expect(parseMarker(body)).toBe(sourceKey(source, 12));
    expect(parseMarker(withMarker("", source, 3))).toBe("nss-group-projects/cider-falls#3");
    expect(parseMarker(`${body}\n  `)).toBe(sourceKey(source, 12));
  });

  it("reads only Monarch's exact format, at the end", () => {
    const quoted = `See <!-- monarch:source=a/b#1 --> above.`;
    expect(parseMarker(quoted)).toBeUndefined();
    expect(parseMarker("<!-- monarch:source=a/b#01 -->")).toBeUndefined();
    expect(parseMarker("<!--monarch:source=a/b#1-->")).toBeUndefined();
    expect(parseMarker("<!-- monarch:source=a b/c#1 -->")).toBeUndefined();
    expect(parseMarker(null)).toBeUndefined();
    expect(parseMarker("<!-- monarch:source=a/b#1 -->\n\n<!-- monarch:source=a/b#2 -->")).toBe("a/b#2");
  });

  it("accepts owner/name and GitHub URLs, and rejects anything else", () => {
    expect(repositoryRef("acme/template")).toEqual({ owner: "acme", repo: "template" });
    expect(repositoryRef("https://github.com/acme/template.git/")).toEqual({
      owner: "acme",
      repo: "template",
    });
    expect(() => repositoryRef("acme")).toThrow(TypeError);
    expect(() => repositoryRef("acme/template/issues")).toThrow(TypeError);
  });
});
