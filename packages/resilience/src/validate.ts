/** Option checks shared by the policies; each names the option and the value it got. */

export function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}

export function requirePositive(name: string, value: number): void {
  if (!(value > 0)) throw new RangeError(`${name} must be a number > 0, got ${value}`);
}

export function requireNonNegative(name: string, value: number): void {
  if (!(value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
}

export function requireFraction(name: string, value: number): void {
  if (!(value > 0 && value <= 1)) throw new RangeError(`${name} must be in (0, 1], got ${value}`);
}
