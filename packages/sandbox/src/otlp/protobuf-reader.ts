/**
 * Just enough of the protocol buffers wire format (https://protobuf.dev/programming-guides/encoding/) to
 * decode OTLP without a protobuf library: split a message into its fields, then read each field as the
 * scalar the schema says it is. Fields come in any order and unknown ones are skipped by the caller.
 */

export class ProtobufDecodeError extends Error {
  override readonly name = "ProtobufDecodeError";
}

/** One field of a message: a varint's value, or the raw bytes of a fixed-width or length-delimited field. */
export type WireField =
  | { readonly number: number; readonly wireType: "VARINT"; readonly value: bigint }
  | { readonly number: number; readonly wireType: "I64" | "LEN" | "I32"; readonly bytes: Uint8Array };

/** The fields of `message` in wire order. Length-delimited contents are views into `message`, not copies. */
export function* fieldsOf(message: Uint8Array): Generator<WireField> {
  let offset = 0;
  while (offset < message.length) {
    const [tag, afterTag] = readVarint(message, offset);
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (number === 0) throw new ProtobufDecodeError(`field number 0 at byte ${offset}`);
    offset = afterTag;
    switch (wireType) {
      case 0: {
        const [value, next] = readVarint(message, offset);
        offset = next;
        yield { number, wireType: "VARINT", value };
        break;
      }
      case 1:
        yield { number, wireType: "I64", bytes: slice(message, offset, 8) };
        offset += 8;
        break;
      case 2: {
        const [length, start] = readVarint(message, offset);
        const bytes = slice(message, start, Number(length));
        offset = start + bytes.length;
        yield { number, wireType: "LEN", bytes };
        break;
      }
      case 5:
        yield { number, wireType: "I32", bytes: slice(message, offset, 4) };
        offset += 4;
        break;
      default:
        // 3 and 4 are the deprecated groups, which OTLP never uses; 6 and 7 do not exist.
        throw new ProtobufDecodeError(`field ${number} has unsupported wire type ${wireType}`);
    }
  }
}

/** uint64, uint32, bool and enum fields. */
export function varintOf(field: WireField): bigint {
  if (field.wireType !== "VARINT") throw wrongType(field, "VARINT");
  return field.value;
}

/** int64 and int32 fields, whose negative values are ten-byte two's complement varints. */
export function int64Of(field: WireField): bigint {
  return BigInt.asIntN(64, varintOf(field));
}

/** fixed64 fields, such as OTLP's nanosecond timestamps. */
export function fixed64Of(field: WireField): bigint {
  return i64View(field).getBigUint64(0, true);
}

export function doubleOf(field: WireField): number {
  return i64View(field).getFloat64(0, true);
}

/** bytes and embedded-message fields. */
export function bytesOf(field: WireField): Uint8Array {
  if (field.wireType !== "LEN") throw wrongType(field, "LEN");
  return field.bytes;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function stringOf(field: WireField): string {
  try {
    return utf8.decode(bytesOf(field));
  } catch (error) {
    if (error instanceof ProtobufDecodeError) throw error;
    throw new ProtobufDecodeError(`field ${field.number} is not valid UTF-8`);
  }
}

function readVarint(bytes: Uint8Array, offset: number): [value: bigint, next: number] {
  let value = 0n;
  for (let index = 0; index < 10; index++) {
    const byte = bytes[offset + index];
    if (byte === undefined) throw new ProtobufDecodeError(`varint at byte ${offset} is cut off`);
    value |= BigInt(byte & 0x7f) << BigInt(7 * index);
    if (byte < 0x80) return [BigInt.asUintN(64, value), offset + index + 1];
  }
  throw new ProtobufDecodeError(`varint at byte ${offset} is longer than 10 bytes`);
}

function slice(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  if (offset + length > bytes.length) {
    throw new ProtobufDecodeError(
      `field at byte ${offset} needs ${length} bytes but the message has ${bytes.length - offset} left`,
    );
  }
  return bytes.subarray(offset, offset + length);
}

function i64View(field: WireField): DataView {
  if (field.wireType !== "I64") throw wrongType(field, "I64");
  return new DataView(field.bytes.buffer, field.bytes.byteOffset, field.bytes.byteLength);
}

function wrongType(field: WireField, expected: WireField["wireType"]): ProtobufDecodeError {
  return new ProtobufDecodeError(`field ${field.number} has wire type ${field.wireType}, not ${expected}`);
}
