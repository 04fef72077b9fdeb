import fc from "fast-check";

/** Logins GitHub allows: letters, digits and single inner hyphens, here 1 + 19 × 2 = 39 at most. */
export const validOwner = fc.stringMatching(/^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,19}$/);

/** Repository names GitHub allows. */
export const validName = fc
  .stringMatching(/^[A-Za-z0-9._-]{1,100}$/)
  .filter((name) => name !== "." && name !== ".." && !name.endsWith(".git"));

export const validRepository = fc.record({ owner: validOwner, name: validName });

/** The same repository, spelled with other letter cases (GitHub treats them as one). */
export function recase(text: string, flips: readonly boolean[]): string {
  return [...text]
    .map((char, index) =>
      flips[index % Math.max(1, flips.length)] ? char.toUpperCase() : char.toLowerCase(),
    )
    .join("");
}
