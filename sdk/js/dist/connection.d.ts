/** Where a client sends its calls and with which credentials. */
/** A user's token, or a function returning the current one (called before each request, so a refreshed token is used). */
export type AccessToken = string | (() => string | null | undefined | Promise<string | null | undefined>);
export interface Connection {
    /** The node's base URL without a trailing slash, e.g. `http://127.0.0.1:8787`. */
    readonly url: string;
    readonly app: string;
    readonly apiKey: string | undefined;
    accessToken: AccessToken | undefined;
    readonly fetch: typeof fetch;
    readonly headers: Record<string, string>;
}
export declare function currentToken(connection: Connection): Promise<string | undefined>;
/**
 * `apikey` carries the app's key, `Authorization` the user's token (else the key), as supabase-js sends them;
 * the gateway reads Authorization first ([access-control](../../docs/access-control.md)).
 */
export declare function authHeaders(connection: Connection): Promise<Record<string, string>>;
/** `/v1/{app}/` plus the rest, each name escaped. */
export declare function appUrl(connection: Connection, ...segments: string[]): string;
