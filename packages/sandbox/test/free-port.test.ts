import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findFreePort, isPortFree } from "../src/free-port.js";

/** The first port the kernel hands out by itself (the source ports of outgoing connections). */
const ephemeralStart = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
})();

describe("findFreePort", () => {
  it("picks free ports below the ephemeral range, where no outgoing connection can take them", async () => {
    for (let n = 0; n < 50; n++) {
      const port = await findFreePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralStart);
      expect(await isPortFree(port)).toBe(true);
    }
  });

  it("keeps a port's companions below the ephemeral range too", async () => {
    for (let n = 0; n < 20; n++) {
      const port = await findFreePort([10_000]);
      expect(port + 10_000).toBeLessThan(ephemeralStart);
      expect(await isPortFree(port + 10_000)).toBe(true);
    }
  });
});
