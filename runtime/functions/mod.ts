// @isola/functions (also resolvable as @pylonsync/functions): typed functions for Isola.
// The deploy maps both names to this module (src/Isola.Host/Build/FunctionBuilder.cs); the guide is
// docs/typed-functions.md.
export { action, mutation, query } from "./define.ts";
export type {
  ActionCtx, Auth, DbReader, DbWriter, Events, Filter, Logger, MutationCtx, QueryCtx, QueryResult, Registered, Row, Scheduler, Sql,
} from "./define.ts";
export { FunctionError } from "./contract.ts";
export type { AuthMode, FunctionKind, Schema } from "./contract.ts";
export { v, Validator } from "./validators.ts";
export type { Fields, Infer, ObjectOf } from "./validators.ts";
