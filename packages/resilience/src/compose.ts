import { BasePolicy, type ExecutionContext, type Operation, type Policy } from "./policy.js";

/**
 * Runs operations through several policies, the first outermost: in
 * `pipeline(timeout, retry, breaker)` the timeout bounds all attempts together, and every attempt
 * passes the breaker.
 */
export class Pipeline extends BasePolicy {
  readonly policies: readonly Policy[];

  constructor(policies: readonly Policy[]) {
    super();
    this.policies = policies;
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    return this.runFrom(0, operation, context);
  }

  private runFrom<T>(index: number, operation: Operation<T>, context: ExecutionContext): Promise<T> {
    const policy = this.policies[index];
    if (!policy) {
      try {
        return Promise.resolve(operation(context));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (index === this.policies.length - 1) return policy.run(operation, context);
    return policy.run((inner) => this.runFrom(index + 1, operation, inner), context);
  }
}

/** Combines policies, outermost first. */
export function pipeline(...policies: Policy[]): Pipeline {
  return new Pipeline(policies);
}

/** An object whose methods return promises, each call running through a policy. */
export type ResilientClient<T, K extends keyof T> = Omit<T, K> & {
  [M in K]: T[M] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[M];
};

/** The names of an object's methods. */
export type MethodNames<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T];

/**
 * Wraps an object so that the named methods (default: all of them) run through `policy`. Other
 * properties read through to the object. Methods keep their `this`. For cancellation and the timeout
 * signal inside a method, call `policy.execute` directly instead.
 */
export function resilient<T extends object, K extends MethodNames<T> = MethodNames<T>>(
  target: T,
  policy: Policy,
  methods?: readonly K[],
): ResilientClient<T, K> {
  // Keyed by the original function, so a method replaced on the object is wrapped anew.
  const wrapped = new WeakMap<object, unknown>();
  const chosen = methods ? new Set<PropertyKey>(methods) : undefined;
  return new Proxy(target, {
    get(object, property) {
      // Read with the object itself as receiver, so getters that use private fields work.
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== "function" || (chosen && !chosen.has(property))) return value;
      let method = wrapped.get(value);
      if (!method) {
        const original = value as (...args: unknown[]) => unknown;
        method = (...args: unknown[]) => policy.execute(() => original.apply(object, args));
        wrapped.set(value, method);
      }
      return method;
    },
  }) as unknown as ResilientClient<T, K>;
}
