import { hostname } from "node:os";

/** Option checks shared by the modules; each error names the option and the value it got. */

export function requireInteger(option: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${option} must be an integer >= ${min}, got ${value}`);
  }
}

export function requireNonEmpty(option: string, value: string): void {
  if (value.length === 0) throw new RangeError(`${option} must not be empty`);
}

/** Names this process among the replicas: `<hostname>:<pid>`. */
export function processIdentity(): string {
  return `${hostname()}:${process.pid}`;
}
