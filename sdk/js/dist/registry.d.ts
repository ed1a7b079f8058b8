/**
 * Filled by `isola types generate`, which writes a .d.ts that augments these interfaces:
 *
 * ```ts
 * declare module "@isola/client" {
 *   interface FunctionNameRegistry { hello: true }
 *   interface TypedFunctionRegistry {
 *     createMessage: { kind: "mutation"; args: { roomId: string; body: string }; result: { id: string } };
 *     listMessages: { kind: "query"; args: { roomId: string }; result: unknown };
 *   }
 * }
 * ```
 *
 * Empty (nothing generated), every name is a string and args and results are `unknown`.
 */
export interface FunctionNameRegistry {
}
export interface TypedFunctionRegistry {
}
/** A function's name: the registry's keys once types are generated (with autocomplete), any string before. */
export type FunctionName = keyof FunctionNameRegistry extends never ? string : keyof FunctionNameRegistry & string;
/** A typed function's name (`callFn`, `realtime.live`). */
export type TypedFunctionName = keyof TypedFunctionRegistry extends never ? string : keyof TypedFunctionRegistry & string;
/** A typed query's name (`realtime.live` subscribes to queries only); entries without a `kind` count as queries. */
export type TypedQueryName = keyof TypedFunctionRegistry extends never ? string : {
    [Name in keyof TypedFunctionRegistry]: TypedFunctionRegistry[Name] extends {
        kind: "mutation" | "action";
    } ? never : Name;
}[keyof TypedFunctionRegistry] & string;
/** What a typed function takes. */
export type FnArgs<Name extends string> = Name extends keyof TypedFunctionRegistry ? TypedFunctionRegistry[Name] extends {
    args: infer Args;
} ? Args : Record<string, unknown> : Record<string, unknown>;
/** What a typed function returns. */
export type FnResult<Name extends string> = Name extends keyof TypedFunctionRegistry ? TypedFunctionRegistry[Name] extends {
    result: infer Result;
} ? Result : unknown : unknown;
