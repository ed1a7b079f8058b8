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

export async function currentToken(connection: Connection): Promise<string | undefined> {
  const token = typeof connection.accessToken === "function" ? await connection.accessToken() : connection.accessToken;
  return token ?? undefined;
}

/**
 * `apikey` carries the app's key, `Authorization` the user's token (else the key), as supabase-js sends them;
 * the gateway reads Authorization first ([access-control](../../docs/access-control.md)).
 */
export async function authHeaders(connection: Connection): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  if (connection.apiKey !== undefined) {
    headers["apikey"] = connection.apiKey;
  }

  const bearer = (await currentToken(connection)) ?? connection.apiKey;
  if (bearer !== undefined) {
    headers["Authorization"] = `Bearer ${bearer}`;
  }

  return headers;
}

/** `/v1/{app}/` plus the rest, each name escaped. */
export function appUrl(connection: Connection, ...segments: string[]): string {
  return `${connection.url}/v1/${encodeURIComponent(connection.app)}/${segments.map(encodeURIComponent).join("/")}`;
}
