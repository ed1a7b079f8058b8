/** Where a client sends its calls and with which credentials. */
export async function currentToken(connection) {
    const token = typeof connection.accessToken === "function" ? await connection.accessToken() : connection.accessToken;
    return token ?? undefined;
}
/**
 * `apikey` carries the app's key, `Authorization` the user's token (else the key), as supabase-js sends them;
 * the gateway reads Authorization first ([access-control](../../docs/access-control.md)).
 */
export async function authHeaders(connection) {
    const headers = {};
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
export function appUrl(connection, ...segments) {
    return `${connection.url}/v1/${encodeURIComponent(connection.app)}/${segments.map(encodeURIComponent).join("/")}`;
}
