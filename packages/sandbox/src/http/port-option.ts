import { parseArgs } from "node:util";

/**
 * The port a simulator's CLI is asked to listen on (`--port N`, 0 for any free port), or undefined when
 * the arguments are anything else, for the CLI to print its usage.
 */
export function portOption(
  defaultPort: number,
  args: readonly string[] = process.argv.slice(2),
): number | undefined {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { port: { type: "string", default: String(defaultPort) } },
    });
    const port = Number(values.port);
    return /^\d{1,5}$/.test(values.port) && port <= 65_535 ? port : undefined;
  } catch {
    return undefined;
  }
}
