/**
 * @isola/client: call Isola functions from browsers, Node 20+ and Deno (docs/js-client.md).
 *
 * ```ts
 * import { createClient } from "@isola/client";
 * const isola = createClient("http://127.0.0.1:8787", { apiKey: ANON_KEY });
 * const { data, error } = await isola.functions.invoke("hello", { body: { name: "Ada" } });
 * ```
 */
export { createClient, IsolaClient, type ClientOptions } from "./client.js";
export type { AccessToken } from "./connection.js";
export { FunctionsError, FunctionsFetchError, FunctionsHttpError, FunctionsRelayError, IsolaError } from "./errors.js";
export { FunctionsClient, type InvokeBody, type InvokeOptions, type InvokeResult } from "./functions.js";
export { RealtimeClient, type SendOptions, type Subscription, type WebSocketClass } from "./realtime.js";
export type { FnArgs, FnResult, FunctionName, FunctionNameRegistry, TypedFunctionName, TypedFunctionRegistry, TypedQueryName } from "./registry.js";
