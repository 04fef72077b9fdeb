import type { Readable } from "node:stream";

/** The text a stream has written so far, and a wait for a pattern to appear in it. */
export function watch(stream: Readable): {
  text: () => string;
  waitFor: (pattern: RegExp) => Promise<RegExpExecArray>;
} {
  let text = "";
  const listeners = new Set<() => void>();
  stream.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
    for (const listener of [...listeners]) listener();
  });
  return {
    text: () => text,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${pattern} did not appear in:\n${text}`));
        }, 15_000);
        const check = () => {
          const match = pattern.exec(text);
          if (!match) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(match);
        };
        listeners.add(check);
        check();
      }),
  };
}
