// Small assertions over node:assert (jsr:@std/assert would need a registry the tests cannot reach).
import { deepStrictEqual, ok } from "node:assert";

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  ok(condition, message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  ok(pattern.test(actual), message ?? `${JSON.stringify(actual)} does not match ${pattern}`);
}

export function assertLess(actual: number, limit: number, message?: string): void {
  ok(actual < limit, message ?? `${actual} is not less than ${limit}`);
}
