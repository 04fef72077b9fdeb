/** Stops a listener registered with `on`. */
export type Unsubscribe = () => void;

type ListenerLists<Events> = { [K in keyof Events]: ReadonlyArray<(event: Events[K]) => void> };

/**
 * Typed listeners for a fixed set of events. Callers check {@link EventHub.has} before building an
 * event, so events cost nothing while nobody listens. Lists are copied on change, so a listener may
 * unsubscribe while being called. A listener that throws does not disturb the call that emitted: its
 * error is rethrown on a later tick, as `EventTarget` does, so the bug stays visible.
 */
export class EventHub<Events extends object> {
  private readonly listeners: ListenerLists<Events>;

  constructor(names: ReadonlyArray<keyof Events>) {
    const listeners = {} as ListenerLists<Events>;
    for (const name of names) listeners[name] = [];
    this.listeners = listeners;
  }

  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): Unsubscribe {
    this.listeners[name] = [...this.listeners[name], listener];
    return () => {
      this.listeners[name] = this.listeners[name].filter((registered) => registered !== listener);
    };
  }

  has(name: keyof Events): boolean {
    return this.listeners[name].length > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    for (const listener of this.listeners[name]) {
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
