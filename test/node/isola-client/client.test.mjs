// @isola/client (sdk/js, its built dist/) from Node against a live Isola node. The C# test JsClientTests deploys the
// functions and sets ISOLA_URL, ANON_KEY and SERVICE_KEY; run alone, it needs all three (and
// --experimental-websocket on Node 20 for the realtime tests).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  createClient, FunctionsFetchError, FunctionsHttpError, FunctionsRelayError, IsolaError,
} from '../../../sdk/js/dist/index.js'

const url = process.env.ISOLA_URL
const anonKey = process.env.ANON_KEY
const serviceKey = process.env.SERVICE_KEY
assert.ok(url && anonKey && serviceKey, 'set ISOLA_URL, ANON_KEY and SERVICE_KEY')
const isola = createClient(url, { apiKey: anonKey, serviceKey })

test('a plain object goes as JSON and a JSON answer arrives parsed', async () => {
  const { data, error } = await isola.functions.invoke('js-echo', { body: { name: 'Ada', tags: ['a'] }, headers: { 'x-request-id': 'req-1' } })
  assert.equal(error, null)
  assert.deepEqual(data, { role: 'anon', method: 'POST', type: 'application/json', path: '/v1/default/fn/js-echo', body: { name: 'Ada', tags: ['a'] }, header: 'req-1' })
})

test('method and sub-path are the caller’s; no body sends none', async () => {
  const { data } = await isola.functions.invoke('js-echo', { method: 'GET', path: '/users/42' })
  assert.equal(data.method, 'GET')
  assert.equal(data.path, '/v1/default/fn/js-echo/users/42')
  assert.equal(data.body, null)
})

test('a string goes as text/plain', async () => {
  const { data } = await isola.functions.invoke('js-echo', { body: 'just text' })
  assert.equal(data.type, 'text/plain')
  assert.equal(data.body, 'just text')
})

test('an object with a File or Blob value goes as multipart, other values as fields', async () => {
  const photo = new File([new Uint8Array([1, 2, 3])], 'photo.png', { type: 'image/png' })
  const note = new Blob(['hello'], { type: 'text/plain' })
  const { data, error } = await isola.functions.invoke('js-echo', { body: { photo, note, caption: 'sea', meta: { n: 1 } } })
  assert.equal(error, null)
  assert.equal(data.type, 'multipart/form-data')
  assert.deepEqual(data.body, {
    photo: { file: 'photo.png', type: 'image/png', size: 3, text: '\u0001\u0002\u0003' },
    note: { file: 'note', type: 'text/plain', size: 5, text: 'hello' },
    caption: 'sea',
    meta: '{"n":1}',
  })
})

test('a text answer arrives as a string', async () => {
  const { data, error } = await isola.functions.invoke('js-text', { method: 'GET' })
  assert.equal(error, null)
  assert.equal(data, 'plain text from isola')
})

test('a binary answer arrives as a Blob with every byte', async () => {
  const { data, error } = await isola.functions.invoke('js-binary', { method: 'GET' })
  assert.equal(error, null)
  assert.ok(data instanceof Blob)
  const bytes = new Uint8Array(await data.arrayBuffer())
  assert.equal(bytes.length, 256)
  assert.equal(bytes[255], 255)
})

test("the function's own error status is a FunctionsHttpError with its Response", async () => {
  const { data, error, response } = await isola.functions.invoke('js-error', { body: {} })
  assert.equal(data, null)
  assert.ok(error instanceof FunctionsHttpError, `got ${error?.name}`)
  assert.equal(error.context.status, 400)
  assert.equal(response.status, 400)
  assert.deepEqual(await error.context.json(), { error: 'name is required' })
})

test('a refusal of Isola itself (x-relay-error) is a FunctionsRelayError with the API code', async () => {
  const { error } = await isola.functions.invoke('js-user-only', { body: {} })
  assert.ok(error instanceof FunctionsRelayError, `got ${error?.name}`)
  assert.equal(error.context.status, 401)
  assert.equal((await error.context.json()).error.code, 'AUTH_REQUIRED')

  const missing = await isola.functions.invoke('js-does-not-exist')
  assert.ok(missing.error instanceof FunctionsRelayError)
  assert.equal(missing.error.context.status, 404)
})

test('an unreachable node is a FunctionsFetchError', async () => {
  const nowhere = createClient('http://127.0.0.1:9', { apiKey: anonKey })
  const { data, error } = await nowhere.functions.invoke('js-echo', { body: {} })
  assert.equal(data, null)
  assert.ok(error instanceof FunctionsFetchError, `got ${error?.name}`)
})

test('asServiceRole calls as the service; without a service key it is refused plainly', async () => {
  const { data } = await isola.asServiceRole.functions.invoke('js-echo', { body: {} })
  assert.equal(data.role, 'service')
  const user = await isola.asServiceRole.functions.invoke('js-user-only', { body: { name: 'x' } })
  assert.equal(user.error, null)
  assert.throws(() => createClient(url, { apiKey: anonKey }).asServiceRole, /service key/)
})

test('realtime: subscribe, send with its reply, a broadcast and a direct message', async () => {
  const listener = createClient(url, { apiKey: anonKey }).realtime
  const speaker = createClient(url, { apiKey: anonKey }).realtime
  try {
    const heard = []
    const subscription = await listener.subscribe('room', (data) => heard.push(data))
    const direct = new Promise((resolve) => speaker.onMessage(resolve))
    assert.match(await speaker.connect(), /^[0-9a-f]{32}$/)

    assert.deepEqual(await speaker.send('say', { text: 'hello' }), { sent: true, as: 'anon' })
    assert.deepEqual(await direct, { direct: 'hello' })
    for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(heard, [{ text: 'hello' }])

    // An event no function handles is an IsolaError with the node's code, never a silent drop.
    await assert.rejects(speaker.send('nobody-listens', {}), (e) => e instanceof IsolaError && e.code === 'NO_HANDLER')

    // After close, broadcasts no longer arrive.
    await subscription.close()
    await speaker.send('say', { text: 'again' })
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(heard, [{ text: 'hello' }])
  } finally {
    await listener.close()
    await speaker.close()
  }
})
