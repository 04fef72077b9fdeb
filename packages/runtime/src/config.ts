import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { z } from "zod";

/** Thrown at start when the environment does not describe a usable service; lists every problem. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly service: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${service} cannot start: its environment has ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`,
    );
  }
}

const secretKeys = new WeakSet<object>();

/**
 * Marks a variable as secret: its value never appears in errors, and `secretValues` collects it so
 * the logger can scrub it from every line, whatever shape it is logged in.
 */
export function secret<T extends z.ZodType>(schema: T): T {
  secretKeys.add(schema);
  return schema;
}

export interface LoadConfigOptions<T = unknown> {
  /** Read variables from this file too; the process environment wins. Default `.env` if it exists. */
  readonly envFile?: string | false;
  readonly env?: NodeJS.ProcessEnv;
  /** Rules between variables, once each is valid on its own; returns the problems, if any. */
  readonly check?: (config: T) => readonly string[];
}

/** A validated configuration and the values of its secret variables. */
export interface LoadedConfig<T> {
  readonly config: T;
  readonly secretValues: readonly string[];
}

/**
 * Validates a service's environment against its declared variables (a zod object keyed by variable
 * name). Fails with one {@link ConfigError} naming every missing or invalid variable and what it
 * should be; values of secret variables are never echoed.
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  service: string,
  shape: Shape,
  options: LoadConfigOptions<z.infer<z.ZodObject<Shape>>> = {},
): LoadedConfig<z.infer<z.ZodObject<Shape>>> {
  const env = { ...readEnvFile(options.envFile ?? ".env"), ...(options.env ?? process.env) };
  const result = z.object(shape).safeParse(env, { reportInput: false });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const variable = issue.path.map(String).join(".");
      const given = env[variable] === undefined ? "not set" : "set";
      return `${variable} (${given}): ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  const problems = options.check?.(result.data) ?? [];
  if (problems.length > 0) throw new ConfigError(service, problems);
  const secretValues = Object.entries(shape)
    .filter(([, schema]) => secretKeys.has(schema))
    .map(([key]) => (result.data as Record<string, unknown>)[key])
    .filter((value): value is string => typeof value === "string" && value.length > 0);
  return { config: result.data, secretValues };
}

function readEnvFile(path: string | false): Record<string, string> {
  if (path === false || !existsSync(path)) return {};
  return parseEnv(readFileSync(path, "utf8")) as Record<string, string>;
}
