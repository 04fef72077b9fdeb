import {
  BasePolicy,
  type ExecutionContext,
  type Operation,
  type Policy,
  type RunsAround,
  runAround,
} from "./policy.js";

/**
 * Runs operations through several policies, the first outermost: in
 * `pipeline(timeout, retry, breaker)` the timeout bounds all attempts together, and every attempt
 * passes the breaker.
 */
export class Pipeline extends BasePolicy {
  readonly policies: readonly Policy[];
  private readonly outermost: Policy | undefined;
  /** What the outermost policy runs: the next policy, or a pipeline of all the others. */
  private readonly inner: Policy | undefined;
  private readonly outermostRunsAround: boolean;

  constructor(policies: readonly Policy[]) {
    super();
    this.policies = policies;
    const [outermost, ...others] = policies;
    this.outermost = outermost;
    this.inner = others.length > 1 ? new Pipeline(others) : others[0];
    this.outermostRunsAround = outermost !== undefined && runAround in outermost;
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    const outermost = this.outermost;
    if (!outermost) {
      try {
        return Promise.resolve(operation(context));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const inner = this.inner;
    if (!inner) return outermost.run(operation, context);
    // A policy that can run the inner one itself spares a closure per call.
    if (this.outermostRunsAround)
      return (outermost as Policy & RunsAround)[runAround](inner, operation, context);
    return outermost.run((innerContext) => inner.run(operation, innerContext), context);
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
