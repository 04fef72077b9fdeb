import {
  type Attributes,
  type AttributeValue,
  type CollectedSpan,
  collectedSpan,
  OtlpDecodeError,
  type WireSpan,
} from "./span.js";

type JsonObject = { readonly [key: string]: unknown };

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
 * the protobuf JSON mapping with lowerCamelCase keys, except that trace and span ids are hex. Being a
 * collector it accepts what exporters actually send as well: base64 ids, as protojson and early
 * exporters wrote them; 64-bit integers as strings or numbers; enums as numbers or names.
 */
export function decodeJsonTraces(text: string): CollectedSpan[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError(`body is not JSON: ${(error as SyntaxError).message}`);
  }
  return list(object(body, "body").resourceSpans, "resourceSpans").flatMap((resourceSpans, index) =>
    resourceSpansOf(resourceSpans, `resourceSpans[${index}]`),
  );
}

function resourceSpansOf(value: unknown, path: string): CollectedSpan[] {
  const resourceSpans = object(value, path);
  const resource = attributes(
    object(resourceSpans.resource, `${path}.resource`).attributes,
    `${path}.resource.attributes`,
  );
  return list(resourceSpans.scopeSpans, `${path}.scopeSpans`).flatMap((scopeSpans, scopeIndex) => {
    const scopePath = `${path}.scopeSpans[${scopeIndex}]`;
    const { scope, spans } = object(scopeSpans, scopePath);
    const scopeName = text(object(scope, `${scopePath}.scope`).name, `${scopePath}.scope.name`);
    return list(spans, `${scopePath}.spans`).map((span, spanIndex) =>
      collectedSpan(wireSpan(span, `${scopePath}.spans[${spanIndex}]`), resource, scopeName),
    );
  });
}

function wireSpan(value: unknown, path: string): WireSpan {
  const span = object(value, path);
  const status = object(span.status, `${path}.status`);
  return {
    traceId: id(span.traceId, 16, `${path}.traceId`),
    spanId: id(span.spanId, 8, `${path}.spanId`),
    parentSpanId: id(span.parentSpanId, 8, `${path}.parentSpanId`),
    traceState: text(span.traceState, `${path}.traceState`),
    name: text(span.name, `${path}.name`),
    kind: enumValue(span.kind, `${path}.kind`),
    startTimeUnixNano: integer(span.startTimeUnixNano, `${path}.startTimeUnixNano`),
    endTimeUnixNano: integer(span.endTimeUnixNano, `${path}.endTimeUnixNano`),
    attributes: attributes(span.attributes, `${path}.attributes`),
    statusCode: enumValue(status.code, `${path}.status.code`),
    statusMessage: text(status.message, `${path}.status.message`),
  };
}

/** A repeated KeyValue as a plain object. */
function attributes(value: unknown, path: string): Attributes {
  return Object.fromEntries(
    list(value, path).map((keyValue, index) => {
      const { key, value: anyValue } = object(keyValue, `${path}[${index}]`);
      return [text(key, `${path}[${index}].key`), attributeValue(anyValue, `${path}[${index}].value`)];
    }),
  );
}

function attributeValue(value: unknown, path: string): AttributeValue {
  const anyValue = object(value, path);
  if ("stringValue" in anyValue) return text(anyValue.stringValue, `${path}.stringValue`);
  if ("boolValue" in anyValue) {
    if (typeof anyValue.boolValue !== "boolean") {
      throw new OtlpDecodeError(`${path}.boolValue is not a boolean`);
    }
    return anyValue.boolValue;
  }
  if ("intValue" in anyValue) return Number(integer(anyValue.intValue, `${path}.intValue`));
  if ("doubleValue" in anyValue) return double(anyValue.doubleValue, `${path}.doubleValue`);
  if ("arrayValue" in anyValue) {
    const values = object(anyValue.arrayValue, `${path}.arrayValue`).values;
    return list(values, `${path}.arrayValue.values`).map((item, index) =>
      attributeValue(item, `${path}.arrayValue.values[${index}]`),
    );
  }
  if ("kvlistValue" in anyValue) {
    const values = object(anyValue.kvlistValue, `${path}.kvlistValue`).values;
    return attributes(values, `${path}.kvlistValue.values`);
  }
  if ("bytesValue" in anyValue) return new Uint8Array(base64(anyValue.bytesValue, `${path}.bytesValue`));
  return null;
}

const HEX = /^[0-9a-f]*$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Ids are hex in OTLP/JSON, but base64 (protojson's encoding of bytes) in early exporters' JSON. */
function id(value: unknown, length: number, path: string): Uint8Array {
  const encoded = text(value, path);
  return encoded.length === length * 2 && HEX.test(encoded)
    ? Buffer.from(encoded, "hex")
    : base64(encoded, path);
}

function base64(value: unknown, path: string): Buffer {
  const encoded = text(value, path);
  if (!BASE64.test(encoded)) throw new OtlpDecodeError(`${path} is neither hex nor base64: ${encoded}`);
  return Buffer.from(encoded, "base64");
}

// Absent and null fields take their proto3 defaults, as the protobuf JSON mapping prescribes.

function object(value: unknown, path: string): JsonObject {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new OtlpDecodeError(`${path} is not an object`);
  }
  return value as JsonObject;
}

function list(value: unknown, path: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${path} is not an array`);
  return value;
}

function text(value: unknown, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new OtlpDecodeError(`${path} is not a string`);
  return value;
}

/** int64 and fixed64 are decimal strings in the JSON mapping; the JavaScript exporter sends ints as numbers. */
function integer(value: unknown, path: string): bigint {
  if (value === undefined || value === null) return 0n;
  if ((typeof value === "string" && /^-?\d+$/.test(value)) || Number.isInteger(value)) {
    return BigInt(value as string | number);
  }
  throw new OtlpDecodeError(`${path} is not an integer: ${JSON.stringify(value)}`);
}

/** Doubles are numbers, or the strings "NaN", "Infinity" and "-Infinity" that JSON cannot spell. */
function double(value: unknown, path: string): number {
  if (typeof value === "number") return value;
  if (value === "NaN" || value === "Infinity" || value === "-Infinity") return Number(value);
  throw new OtlpDecodeError(`${path} is not a number: ${JSON.stringify(value)}`);
}

function enumValue(value: unknown, path: string): number | string {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number" || typeof value === "string") return value;
  throw new OtlpDecodeError(`${path} is not an enum number or name`);
}
