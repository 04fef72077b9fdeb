import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The server and CLI programs of one flavour: Valkey preferred, Redis (wire-compatible) otherwise. */
export interface ServerBinaries {
  readonly server: string;
  readonly cli: string;
}

/** Thrown when neither `valkey-server` nor `redis-server` is installed. */
export class ServerBinaryNotFoundError extends Error {
  override readonly name = "ServerBinaryNotFoundError";
  constructor(searchPath: string) {
    super(
      `neither valkey-server nor redis-server (with its CLI) is on PATH (${searchPath}): install the ` +
        "valkey or redis-server package, e.g. `apt-get install redis-server` on Debian, `brew install valkey` on macOS",
    );
  }
}

function findOnPath(program: string, searchPath: string): string | undefined {
  for (const folder of searchPath.split(delimiter)) {
    if (!folder) continue;
    const candidate = join(folder, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Finds the server and CLI binaries on `searchPath` (default: this process's PATH). */
export function findServerBinaries(searchPath = process.env.PATH ?? ""): ServerBinaries {
  for (const flavour of ["valkey", "redis"]) {
    const server = findOnPath(`${flavour}-server`, searchPath);
    const cli = findOnPath(`${flavour}-cli`, searchPath);
    if (server && cli) return { server, cli };
  }
  throw new ServerBinaryNotFoundError(searchPath);
}
