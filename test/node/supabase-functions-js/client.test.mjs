// Runs the real @supabase/functions-js against a live Isola node. The C# test SupabaseClientTests
// deploys the functions and sets ISOLA_URL and ANON_KEY; run alone, it needs both.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FunctionsClient, FunctionsFetchError, FunctionsHttpError, FunctionsRelayError } from '@supabase/functions-js'

const url = process.env.ISOLA_URL
const anonKey = process.env.ANON_KEY
assert.ok(url && anonKey, 'set ISOLA_URL and ANON_KEY')
const client = new FunctionsClient(`${url}/functions/v1`, { headers: { Authorization: `Bearer ${anonKey}`, apikey: anonKey } })

test('a JSON response arrives as data', async () => {
  const { data, error } = await client.invoke('sb-json', { body: { name: 'functions-js' } })
  assert.equal(error, null)
  assert.deepEqual(data, { message: 'Hello functions-js!' })
})

test('a text response arrives as a string', async () => {
  const { data, error } = await client.invoke('sb-text', { method: 'GET' })
  assert.equal(error, null)
  assert.equal(data, 'plain text from isola')
})

test('a binary response arrives as a Blob with every byte', async () => {
  const { data, error } = await client.invoke('sb-binary', { method: 'GET' })
  assert.equal(error, null)
  const bytes = new Uint8Array(await data.arrayBuffer())
  assert.equal(bytes.length, 256)
  assert.equal(bytes[255], 255)
})

test("the function's own error status is a FunctionsHttpError", async () => {
  const { data, error } = await client.invoke('sb-error', { body: {} })
  assert.equal(data, null)
  assert.ok(error instanceof FunctionsHttpError, `got ${error?.name}`)
  assert.equal(error.context.status, 400)
  assert.deepEqual(await error.context.json(), { error: 'name is required' })
})

test("a platform refusal (401 from Isola's gateway) is a FunctionsRelayError", async () => {
  const { data, error } = await client.invoke('sb-user-only', { body: {} })
  assert.equal(data, null)
  assert.ok(error instanceof FunctionsRelayError, `got ${error?.name}`)
  assert.equal(error.context.status, 401)
  assert.equal(error.context.headers.get('x-isola-error-code'), 'AUTH_REQUIRED')
})

test('a missing function is a FunctionsRelayError too', async () => {
  const { error } = await client.invoke('sb-does-not-exist', { body: {} })
  assert.ok(error instanceof FunctionsRelayError, `got ${error?.name}`)
  assert.equal(error.context.status, 404)
})

test('an unreachable server is a FunctionsFetchError', async () => {
  const nowhere = new FunctionsClient('http://127.0.0.1:9/functions/v1', { headers: { Authorization: `Bearer ${anonKey}` } })
  const { data, error } = await nowhere.invoke('sb-json', { body: {} })
  assert.equal(data, null)
  assert.ok(error instanceof FunctionsFetchError, `got ${error?.name}`)
})
