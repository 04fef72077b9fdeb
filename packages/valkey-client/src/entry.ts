/** How a message is laid out in a stream entry: JSON under `data`, beside the trace context fields. */
export const DATA_FIELD = "data";

/** Turns a flat `[field, value, field, value]` reply into an object. */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let index = 0; index + 1 < fields.length; index += 2) {
    record[fields[index] as string] = fields[index + 1] as string;
  }
  return record;
}

/** Turns an object into `[field, value, ...]` for XADD. */
export function recordToFields(record: Readonly<Record<string, string>>): string[] {
  return Object.entries(record).flat();
}
