import {
  bytesOf,
  doubleOf,
  fieldsOf,
  fixed64Of,
  int64Of,
  ProtobufDecodeError,
  stringOf,
  varintOf,
  type WireField,
} from "./protobuf-reader.js";
import {
  type Attributes,
  type AttributeValue,
  type CollectedSpan,
  collectedSpan,
  emptyWireSpan,
  OtlpDecodeError,
  type WireSpan,
} from "./span.js";

/**
 * Decodes an OTLP/protobuf ExportTraceServiceRequest. Field numbers are those of
 * opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto; fields the collector does not
 * keep (events, links, flags, dropped counts, schema URLs) are skipped.
 */
export function decodeProtobufTraces(body: Uint8Array): CollectedSpan[] {
  try {
    return occurrences(body, 1).flatMap((field) => resourceSpans(bytesOf(field)));
  } catch (error) {
    if (error instanceof ProtobufDecodeError) throw new OtlpDecodeError(error.message, { cause: error });
    throw error;
  }
}

function resourceSpans(message: Uint8Array): CollectedSpan[] {
  let resource: Attributes = {};
  const scopes: Uint8Array[] = [];
  for (const field of fieldsOf(message)) {
    if (field.number === 1) resource = attributesOf(bytesOf(field));
    else if (field.number === 2) scopes.push(bytesOf(field));
  }
  // The resource may follow its scopes on the wire, so spans are built once the whole message is read.
  return scopes.flatMap((scope) => scopeSpans(scope, resource));
}

function scopeSpans(message: Uint8Array, resource: Attributes): CollectedSpan[] {
  let scopeName = "";
  const spans: Uint8Array[] = [];
  for (const field of fieldsOf(message)) {
    if (field.number === 1) scopeName = scopeNameOf(bytesOf(field));
    else if (field.number === 2) spans.push(bytesOf(field));
  }
  return spans.map((span) => collectedSpan(wireSpan(span), resource, scopeName));
}

function scopeNameOf(message: Uint8Array): string {
  let name = "";
  for (const field of occurrences(message, 1)) name = stringOf(field);
  return name;
}

function wireSpan(message: Uint8Array): WireSpan {
  const span = emptyWireSpan();
  const attributes: [string, AttributeValue][] = [];
  for (const field of fieldsOf(message)) {
    switch (field.number) {
      case 1:
        span.traceId = bytesOf(field);
        break;
      case 2:
        span.spanId = bytesOf(field);
        break;
      case 3:
        span.traceState = stringOf(field);
        break;
      case 4:
        span.parentSpanId = bytesOf(field);
        break;
      case 5:
        span.name = stringOf(field);
        break;
      case 6:
        span.kind = Number(int64Of(field));
        break;
      case 7:
        span.startTimeUnixNano = fixed64Of(field);
        break;
      case 8:
        span.endTimeUnixNano = fixed64Of(field);
        break;
      case 9:
        attributes.push(keyValue(bytesOf(field)));
        break;
      case 15:
        for (const statusField of fieldsOf(bytesOf(field))) {
          if (statusField.number === 2) span.statusMessage = stringOf(statusField);
          else if (statusField.number === 3) span.statusCode = Number(int64Of(statusField));
        }
        break;
    }
  }
  span.attributes = Object.fromEntries(attributes);
  return span;
}

/** The values of the repeated field `fieldNumber` of `message`. */
function occurrences(message: Uint8Array, fieldNumber: number): WireField[] {
  return [...fieldsOf(message)].filter((field) => field.number === fieldNumber);
}

/** A message whose field 1 is a repeated KeyValue (Resource, KeyValueList) as a plain object. */
function attributesOf(message: Uint8Array): Attributes {
  return Object.fromEntries(occurrences(message, 1).map((field) => keyValue(bytesOf(field))));
}

function keyValue(message: Uint8Array): [string, AttributeValue] {
  let key = "";
  let value: AttributeValue = null;
  for (const field of fieldsOf(message)) {
    if (field.number === 1) key = stringOf(field);
    else if (field.number === 2) value = anyValue(bytesOf(field));
  }
  return [key, value];
}

/** AnyValue is a oneof: the last of its fields on the wire wins, and none at all means empty. */
function anyValue(message: Uint8Array): AttributeValue {
  let value: AttributeValue = null;
  for (const field of fieldsOf(message)) {
    switch (field.number) {
      case 1:
        value = stringOf(field);
        break;
      case 2:
        value = varintOf(field) !== 0n;
        break;
      case 3:
        value = Number(int64Of(field));
        break;
      case 4:
        value = doubleOf(field);
        break;
      case 5:
        value = occurrences(bytesOf(field), 1).map((item) => anyValue(bytesOf(item)));
        break;
      case 6:
        value = attributesOf(bytesOf(field));
        break;
      case 7:
        // A copy (and a plain Uint8Array, not a view into the request body's Buffer).
        value = new Uint8Array(bytesOf(field));
        break;
    }
  }
  return value;
}
