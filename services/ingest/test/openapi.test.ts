import { MAX_TARGETS_PER_REQUEST } from "@monarch/contracts";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";
import { API_TOKEN, LEGACY_PAYLOAD, sharedIngest, useValkey } from "./support/ingest.js";

const valkey = useValkey();

const ingest = sharedIngest(valkey);

interface MediaType {
  readonly schema?: object;
}
interface DocumentedResponse {
  readonly description: string;
  readonly content?: Record<string, MediaType>;
  readonly headers?: Record<string, object>;
}
interface Operation {
  readonly operationId: string;
  readonly responses: Record<string, DocumentedResponse>;
}
interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly schemas: Record<string, object> };
}

/** Operations as OpenAPI names them; `trace` is left out, since fetch may not send it. */
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"] as const;
const COMPONENTS = [
  "MigrationAccepted",
  "MigrationRequestPayload",
  "MigrationStatus",
  "ProblemDetails",
  "RequestId",
];

const bearer = { authorization: `Bearer ${API_TOKEN}` } as const;

let serial = 0;
/** A valid request no other test sends (the duplicate window would make a repeat a 200). */
function newPayload(): string {
  serial += 1;
  return JSON.stringify({
    source_repo: `openapi-tests/source-${serial}`,
    all_target_repositories: [`openapi-tests/target-${serial}`],
    notification_channel: "C06GHMZB3M3",
  });
}

/** A request with the bearer token (which `init.headers` may add to). */
const send = (path: string, init: RequestInit = {}) =>
  fetch(`${ingest().url}${path}`, { ...init, headers: { ...bearer, ...(init.headers as object) } });
const submit = (body: string, headers: Record<string, string> = {}) =>
  send("/v1/migrations", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

/** RFC 3339 `date-time`, the one format the contracts use (Ajv knows no formats by itself). */
const isDateTime = (text: string) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) &&
  !Number.isNaN(Date.parse(text));
const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { "date-time": isDateTime } });

let document: OpenApiDocument;
/** A request accepted before the tests, for the operations that take an id. */
let knownId: string;
beforeAll(async () => {
  const response = await fetch(`${ingest().url}/openapi.json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as OpenApiDocument;
  knownId = ((await (await submit(newPayload())).json()) as { requestId: string }).requestId;
});

/** The value a local `$ref` (`#/a/b`) points at in the document, or undefined. */
function resolve(ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .map((token) => decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>(
      (node, token) =>
        typeof node === "object" && node !== null && Object.hasOwn(node, token)
          ? (node as Record<string, unknown>)[token]
          : undefined,
      document,
    );
}

function* refsIn(node: unknown): Generator<string> {
  if (typeof node !== "object" || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") yield value;
    else yield* refsIn(value);
  }
}

function validatorFor(schema: object): ValidateFunction {
  const { $ref } = schema as { $ref?: string };
  return ajv.compile(($ref === undefined ? schema : resolve($ref)) as object);
}

const component = (name: string) => validatorFor({ $ref: `#/components/schemas/${name}` });

function expectValid(validate: ValidateFunction, value: unknown): void {
  expect(validate(value), ajv.errorsText(validate.errors)).toBe(true);
}

/**
 * Checks a real answer against the document: its status is documented for the operation, with its
 * media type, its body matches the documented schema, and the documented headers are there.
 */
async function expectDocumented(path: string, method: string, response: Response): Promise<void> {
  const operation = document.paths[path]?.[method];
  expect(operation, `${method.toUpperCase()} ${path} is not documented`).toBeDefined();
  const documented = operation?.responses[String(response.status)];
  expect(
    documented,
    `${method.toUpperCase()} ${path} answered ${response.status}, which is not documented`,
  ).toBeDefined();
  const mediaType = response.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
  const content = documented?.content?.[mediaType];
  expect(content, `${response.status} is not documented as ${mediaType}`).toBeDefined();
  const body: unknown = await response.json();
  if (content?.schema !== undefined) expectValid(validatorFor(content.schema), body);
  for (const header of Object.keys(documented?.headers ?? {})) {
    expect(response.headers.get(header), `the ${header} header`).not.toBeNull();
  }
}

describe("GET /openapi.json", () => {
  it("serves an OpenAPI 3.1 document without credentials", async () => {
    const response = await fetch(`${ingest().url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const served = (await response.json()) as OpenApiDocument;
    expect(served.openapi).toMatch(/^3\.1\.\d+$/);
    expect(served.info).toMatchObject({ title: expect.any(String), version: "0.1.0" });
    expect(Object.keys(served.components.schemas).sort()).toEqual(COMPONENTS);
  });

  it("has component schemas that Ajv compiles as draft 2020-12 in strict mode, none of them vacuous", () => {
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      let validate: ValidateFunction | undefined;
      expect(() => (validate = ajv.compile(schema)), name).not.toThrow();
      expect(validate?.(null), `${name} takes null`).toBe(false);
    }
  });

  it("resolves every $ref", () => {
    const refs = [...refsIn(document)];
    expect(refs.length).toBeGreaterThan(0);
    const unresolved = refs.filter((ref) => typeof resolve(ref) !== "object");
    expect(unresolved).toEqual([]);
  });

  it("describes the platform's legacy payload as a MigrationRequestPayload, and refuses what the schema can say", () => {
    const validate = component("MigrationRequestPayload");
    const legacy = JSON.parse(LEGACY_PAYLOAD) as Record<string, unknown>;
    expectValid(validate, legacy);
    expectValid(validate, { ...legacy, include_closed: null, dry_run: true, schema_version: 1 });
    const { notification_channel: _channel, ...withoutChannel } = legacy;
    for (const invalid of [
      withoutChannel,
      { ...legacy, notification_channel: "#general" },
      { ...legacy, all_target_repositories: [] },
      {
        ...legacy,
        all_target_repositories: Array.from({ length: MAX_TARGETS_PER_REQUEST + 1 }, (_, i) => `o/r${i}`),
      },
      { ...legacy, dry_run: "yes" },
      { ...legacy, schema_version: 2 },
    ]) {
      expect(validate(invalid), JSON.stringify(invalid).slice(0, 120)).toBe(false);
    }
  });
});

describe("the documented operations", () => {
  /** Calls an operation as a client would: with credentials, a known id and, for a submit, a new request. */
  function call(path: string, method: string): Promise<Response> {
    const concrete = path.replace("{id}", knownId);
    if (path === "/v1/migrations" && method === "post") return submit(newPayload());
    return send(concrete, { method: method.toUpperCase() });
  }

  it("are all routed, and every other method on their paths is answered 405 with Allow naming them", async () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      const documented = METHODS.filter((method) => operations[method] !== undefined);
      for (const method of METHODS) {
        const response = await call(path, method);
        if (documented.includes(method)) {
          expect(response.status, `${method} ${path}`).toBeGreaterThanOrEqual(200);
          expect(response.status, `${method} ${path}`).toBeLessThan(300);
          await expectDocumented(path, method, response);
        } else if (method === "head" && documented.includes("get")) {
          // RFC 9110: HEAD is GET without the body; OpenAPI leaves it implied.
          expect(response.status, `head ${path}`).toBe(200);
        } else {
          expect(response.status, `${method} ${path}`).toBe(405);
          const allowed = response.headers.get("allow")?.toLowerCase().split(", ") ?? [];
          expect(allowed.filter((one) => one !== "head").sort(), `Allow on ${path}`).toEqual(
            documented.sort(),
          );
        }
      }
    }
  });

  it.each(["/", "/v1", "/v1/migrations/{id}/cancel", "/v1/requests", "/openapi.yaml", "/docs"])(
    "are the only ones: %s is not found",
    async (path) => {
      expect(Object.keys(document.paths)).not.toContain(path);
      const response = await send(path.replace("{id}", knownId));
      expect(response.status).toBe(404);
    },
  );
});

describe("answers match their documented responses", () => {
  it("POST /v1/migrations", async () => {
    const body = newPayload();
    const answers = [
      await submit(body),
      await submit(body), // the duplicate window's 200
      await submit("{"),
      await submit(
        JSON.stringify({ source_repo: "x", all_target_repositories: [], notification_channel: "" }),
      ),
      await submit(newPayload(), { "idempotency-key": "not\tvisible" }),
      await fetch(`${ingest().url}/v1/migrations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }),
      await submit(" ".repeat(200_000)),
      await send("/v1/migrations", { method: "POST", headers: { "content-type": "text/plain" }, body }),
    ];
    await submit(newPayload(), { "idempotency-key": "openapi-reused-key" });
    answers.push(await submit(newPayload(), { "idempotency-key": "openapi-reused-key" }));
    expect(answers.map(({ status }) => status)).toEqual([202, 200, 400, 400, 400, 401, 413, 415, 422]);
    for (const answer of answers) await expectDocumented("/v1/migrations", "post", answer);
  });

  it("GET /v1/migrations/{id}", async () => {
    const answers = [
      await send(`/v1/migrations/${knownId}`),
      await send("/v1/migrations/not%20an%20id"),
      await fetch(`${ingest().url}/v1/migrations/${knownId}`),
      await send("/v1/migrations/0f6c2c4e-1f7b-4c55-9a51-6f0e8f0d3a11"),
    ];
    expect(answers.map(({ status }) => status)).toEqual([200, 400, 401, 404]);
    for (const answer of answers) await expectDocumented("/v1/migrations/{id}", "get", answer);
  });

  it("POST /v1/migrations/{id}/replay", async () => {
    const replay = (id: string, headers: Record<string, string> = bearer) =>
      fetch(`${ingest().url}/v1/migrations/${id}/replay`, { method: "POST", headers });
    const answers = [
      await replay(knownId),
      await replay(knownId, {}),
      await replay("0f6c2c4e-1f7b-4c55-9a51-6f0e8f0d3a11"),
      await replay("not%20an%20id"),
    ];
    expect(answers.map(({ status }) => status)).toEqual([202, 401, 404, 400]);
    for (const answer of answers) await expectDocumented("/v1/migrations/{id}/replay", "post", answer);
  });
});
