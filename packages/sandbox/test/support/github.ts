import { type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Octokit } from "@octokit/rest";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { afterEach, expect } from "vitest";
import {
  type GitHubSimulator,
  type RequestRecord,
  type RouteKey,
  type StartGitHubSimulatorOptions,
  startGitHubSimulator,
} from "../../src/index.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const DOCUMENT_ID = "api.github.com";

/**
 * Rewrites an OpenAPI 3.0 schema into JSON Schema that Ajv understands: `nullable: true` becomes "or
 * null" (the description also puts it beside `$ref`, `allOf` and `enum`, where Ajv's own support of the
 * keyword does not reach); with `prefix`, local `$ref`s point into the document Ajv holds.
 */
function toJsonSchema(node: Json, prefix = ""): Json {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, prefix));
  if (node === null || typeof node !== "object") return node;
  const converted: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    converted[key] =
      key === "$ref" && typeof value === "string" && value.startsWith("#/")
        ? `${prefix}${value}`
        : toJsonSchema(value, prefix);
  }
  if (converted.nullable !== true) return converted;
  delete converted.nullable;
  return { anyOf: [converted, { type: "null" }] };
}

function at(document: Json, pointer: string): Json | undefined {
  let node: Json | undefined = document;
  for (const part of pointer.replace(/^#\//, "").split("/")) {
    const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
    node = node !== null && typeof node === "object" && !Array.isArray(node) ? node[key] : undefined;
  }
  return node;
}

/**
 * GitHub's official OpenAPI description (`@octokit/openapi`, api.github.com) as a validator of answers:
 * the schema of the answer an operation documents for a status, or, for an error status it does not
 * document (a rate limit, an injected fault, an unknown path), GitHub's `basic-error`.
 */
export class GitHubOpenApi {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  private readonly validators = new Map<string, ValidateFunction | "no content">();

  private constructor(private readonly document: Json) {
    // ajv-formats is CommonJS whose types declare only a default export.
    addFormats.default(this.ajv);
    this.ajv.addSchema({ components: toJsonSchema(at(document, "#/components") ?? {}) }, DOCUMENT_ID);
  }

  static load(): GitHubOpenApi {
    const path = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.json");
    return new GitHubOpenApi(JSON.parse(readFileSync(path, "utf8")) as Json);
  }

  /** What is wrong with `body` as the answer with `status` to a request of `route`; empty when nothing. */
  problems(route: RouteKey | undefined, status: number, body: string): string[] {
    const validator = this.validator(route, status);
    if (validator === "no content") return body === "" ? [] : [`a ${status} has no content, got ${body}`];
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return [`not JSON: ${body.slice(0, 200)}`];
    }
    if (validator(data)) return [];
    return (validator.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message}`);
  }

  private validator(route: RouteKey | undefined, status: number): ValidateFunction | "no content" {
    const cacheKey = `${route} ${status}`;
    let validator = this.validators.get(cacheKey);
    if (!validator) {
      validator = this.compile(route, status);
      this.validators.set(cacheKey, validator);
    }
    return validator;
  }

  private compile(route: RouteKey | undefined, status: number): ValidateFunction | "no content" {
    // Any GET may be answered 304, documented or not, and a 304 never has content.
    if (status === 304) return "no content";
    let response: Json | undefined;
    if (route) {
      const [method = "", path = ""] = route.split(" ");
      const operation = at(this.document, `#/paths/${path.replaceAll("/", "~1")}/${method.toLowerCase()}`);
      if (!operation) throw new Error(`the OpenAPI description has no operation ${route}`);
      response = at(operation, `responses/${status}`);
    }
    if (response === undefined) {
      if (status < 400) throw new Error(`${route} does not document a ${status} answer`);
      return this.ajv.compile({ $ref: `${DOCUMENT_ID}#/components/schemas/basic-error` });
    }
    const reference = at(response, "$ref");
    if (typeof reference === "string") response = at(this.document, reference);
    const schema = response && at(response, "content/application~1json/schema");
    if (schema === undefined) return "no content";
    return this.ajv.compile(toJsonSchema(schema, DOCUMENT_ID) as object);
  }
}

let openApi: GitHubOpenApi | undefined;

/** Loaded once per test file: the description is 13 MB. */
export function gitHubOpenApi(): GitHubOpenApi {
  openApi ??= GitHubOpenApi.load();
  return openApi;
}

/** One line per answered request whose body does not match the OpenAPI description. */
export function invalidAnswers(requests: readonly RequestRecord[]): string[] {
  return requests.flatMap((request) => {
    if (request.status === undefined || request.responseBody === undefined) return [];
    return gitHubOpenApi()
      .problems(request.route, request.status, request.responseBody)
      .map((problem) => `${request.method} ${request.path} → ${request.status}: ${problem}`);
  });
}

/**
 * A `startGitHubSimulator` for the tests of one file: each simulator keeps its answers, and after each
 * test every answer it gave is validated against GitHub's OpenAPI description, then it is stopped.
 */
export function simulatorsValidatedAfterEach(): (
  options?: StartGitHubSimulatorOptions,
) => Promise<GitHubSimulator> {
  const started: GitHubSimulator[] = [];
  afterEach(async () => {
    const simulators = started.splice(0);
    await Promise.all(simulators.map((simulator) => simulator.stop()));
    for (const simulator of simulators) expect(invalidAnswers(simulator.requests())).toEqual([]);
  });
  return async (options = {}) => {
    const simulator = await startGitHubSimulator({ ...options, keepResponseBodies: true });
    started.push(simulator);
    return simulator;
  };
}

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The real Octokit REST client against `simulator`, with `token`; its request log silenced. */
export function octokitFor(simulator: GitHubSimulator, token: string): Octokit {
  return new Octokit({ auth: token, baseUrl: simulator.url, log: quiet });
}

/**
 * A GitHub App's JWT: RS256 over `header` and `claims`, of which GitHub reads `iss` (the App's id), and
 * `iat` and `exp` (epoch seconds). Any claims, so that tests can send what GitHub refuses.
 */
export function appJwt(
  privateKey: KeyObject,
  claims: Readonly<Record<string, unknown>>,
  header: Readonly<Record<string, unknown>> = { alg: "RS256", typ: "JWT" },
): string {
  const part = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");
  const signed = `${part(header)}.${part(claims)}`;
  return `${signed}.${sign("sha256", Buffer.from(signed), privateKey).toString("base64url")}`;
}

/** The status of a failed Octokit request (RequestError), to assert on in one line. */
export async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
  } catch (error) {
    if (
      typeof error === "object" &&
      error !== null &&
      "status" in error &&
      typeof error.status === "number"
    ) {
      return error.status;
    }
    throw error;
  }
  throw new Error("the request succeeded");
}
