// ctx.events: publish an event of the function's app (docs/triggers.md, "Events"). Every function
// subscribed to its name gets it, at least once. Inside ctx.db.transaction it is delivered only
// if that transaction commits.
import { hostCall } from "./host-calls.ts";
import { currentTransaction } from "./transactions.ts";

export interface EmitOptions {
  /** An id of your own: a second event with the same id is dropped (for retried handlers). */
  id?: string;
}

export interface Events {
  /** Publishes `name` with `data` (JSON); resolves to the event's id. */
  emit(name: string, data?: unknown, options?: EmitOptions): Promise<string>;
}

/**
 * ctx.events for one invocation. `transaction` says which transaction an emit waits for: by default the
 * ctx.db.transaction it runs inside, if any; a typed mutation passes its own (begun if need be).
 */
export function invocationEvents(
  capability: () => string | null,
  transaction: (cap: string | null) => string | undefined | Promise<string | undefined> = currentTransaction,
): Events {
  return {
    async emit(name: string, data?: unknown, options?: EmitOptions): Promise<string> {
      if (typeof name !== "string" || name === "") {
        throw new TypeError("ctx.events.emit(name, data): name must be a non-empty string");
      }
      const cap = capability();
      const answer = await hostCall(cap, "events.emit", {
        name,
        data: data === undefined ? null : data,
        id: options?.id,
        tx: await transaction(cap),
      }) as { id: string };
      return answer.id;
    },
  };
}
