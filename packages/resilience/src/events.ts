/** Stops a listener registered with `on`. */
export type Unsubscribe = () => void;

/**
 * A list that is copied on change, so it can be walked while items are added or removed. Removing
 * takes out the one registration it was returned for, even if the same item was added twice.
 */
export class CopyOnWriteList<T> {
  /** The items, walked on every emit. */
  private current: readonly T[] = [];
  /** One token per registration, in the same order, to find the one an unsubscribe is for. */
  private registrations: readonly object[] = [];

  get items(): readonly T[] {
    return this.current;
  }

  add(item: T): Unsubscribe {
    const registration = {};
    this.current = [...this.current, item];
    this.registrations = [...this.registrations, registration];
    return () => {
      const index = this.registrations.indexOf(registration);
      if (index < 0) return;
      this.registrations = this.registrations.filter((_, position) => position !== index);
      this.current = this.current.filter((_, position) => position !== index);
    };
  }
}

/**
 * Typed listeners for a fixed set of events. Callers check {@link EventHub.has} before building an
 * event, so events cost nothing while nobody listens. A listener may unsubscribe while being called.
 * A listener that throws does not disturb the call that emitted: its error is rethrown on a later
 * tick, as `EventTarget` does, so the bug stays visible.
 */
export class EventHub<Events extends object> {
  private readonly listeners: { [K in keyof Events]: CopyOnWriteList<(event: Events[K]) => void> };

  constructor(names: ReadonlyArray<keyof Events>) {
    const listeners = {} as { [K in keyof Events]: CopyOnWriteList<(event: Events[K]) => void> };
    for (const name of names) listeners[name] = new CopyOnWriteList();
    this.listeners = listeners;
  }

  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): Unsubscribe {
    return this.listeners[name].add(listener);
  }

  has(name: keyof Events): boolean {
    return this.listeners[name].items.length > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    for (const listener of this.listeners[name].items) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
