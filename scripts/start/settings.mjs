// What every part of `pnpm start` shares: the repository, what the person starting it set, where the
// data goes, and the error that explains itself.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";

export const root = new URL("../..", import.meta.url).pathname;

function readEnvFile(path) {
  return existsSync(path) ? parseEnv(readFileSync(path, "utf8")) : {};
}

/**
 * What the person starting it set (Valkey, ingest's credentials and ports, where the data goes): in
 * `.env` where it is run, as every service reads it, and in the environment, which wins.
 */
export const given = { ...readEnvFile(join(process.cwd(), ".env")), ...process.env };

export const dataDir = given.MONARCH_DATA_DIR ?? join(root, ".monarch");

/** A reason not to start that says all a person needs to know, printed without a stack. */
export class StartError extends Error {
  name = "StartError";
}
