// Builds protobuf messages byte by byte, for requests the OpenTelemetry SDK cannot produce (bytes and
// kvlist attributes, unknown fields) and for the wire reader's own tests.

export type Bytes = readonly number[];

export function varint(value: bigint | number): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return out;
}

function tag(field: number, wireType: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

export function uintField(field: number, value: bigint | number): number[] {
  return [...tag(field, 0), ...varint(value)];
}

export function fixed64Field(field: number, value: bigint): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return [...tag(field, 1), ...bytes];
}

export function doubleField(field: number, value: number): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value, true);
  return [...tag(field, 1), ...bytes];
}

export function fixed32Field(field: number, value: number): number[] {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return [...tag(field, 5), ...bytes];
}

/** A length-delimited field: a string (UTF-8), raw bytes, or an embedded message's bytes. */
export function lenField(field: number, content: string | Bytes): number[] {
  const bytes = typeof content === "string" ? [...Buffer.from(content, "utf8")] : content;
  return [...tag(field, 2), ...varint(bytes.length), ...bytes];
}
