// @isola/client's typed calls from Node against a live Isola node: callFn and realtime.live. The C# test JsClientTests
// applies test/fixtures/typed/001_app.sql, deploys createMessage, listMessages and rejectTitle from test/fixtures/typed,
// and sets ISOLA_URL, ANON_KEY, ADA_TOKEN and BOB_TOKEN (two users' tokens) and ROOM_ID (an empty room of its own).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, IsolaError } from '../../../sdk/js/dist/index.js'

const { ISOLA_URL: url, ANON_KEY: anonKey, ADA_TOKEN: adaToken, BOB_TOKEN: bobToken, ROOM_ID: roomId } = process.env
assert.ok(url && anonKey && adaToken && bobToken && roomId, 'set ISOLA_URL, ANON_KEY, ADA_TOKEN, BOB_TOKEN and ROOM_ID')
const ada = createClient(url, { apiKey: anonKey, accessToken: adaToken })
const bob = createClient(url, { apiKey: anonKey, accessToken: () => Promise.resolve(bobToken) })

/** Waits (bounded) until `condition()` holds; fails naming `what` otherwise. */
async function until (condition, what) {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.ok(condition(), `timed out waiting for ${what}`)
}

test('callFn sends the args as JSON and resolves with the result', async () => {
  const { id } = await ada.callFn('createMessage', { roomId, body: 'first' })
  assert.match(id, /^[0-9a-f-]{36}$/)
  assert.deepEqual(await bob.callFn('listMessages', { roomId }), [{ body: 'first', authorId: JSON.parse(atob(adaToken.split('.')[1])).sub }])
})

test('an argument its validator refuses rejects with an IsolaError INVALID_ARGS naming the field', async () => {
  await assert.rejects(ada.callFn('createMessage', { roomId, body: 42 }), (error) => {
    assert.ok(error instanceof IsolaError, `got ${error?.name}`)
    assert.equal(error.code, 'INVALID_ARGS')
    assert.equal(error.status, 400)
    assert.equal(error.field, 'body')
    assert.equal(error.message, 'body: expected string, got number')
    return true
  })
})

test("the function's ctx.error rejects with its own code and message", async () => {
  await assert.rejects(ada.callFn('rejectTitle', { title: 'far too long a title' }), (error) => {
    assert.ok(error instanceof IsolaError, `got ${error?.name}`)
    assert.equal(error.code, 'TITLE_TOO_LONG')
    assert.equal(error.status, 400)
    assert.equal(error.message, 'a title has at most 10 characters, this one 20')
    return true
  })
  assert.deepEqual(await ada.callFn('rejectTitle', { title: 'short' }), { ok: true })
})

test('a refusal of the node (no user for an auth "user" function) is an IsolaError with its code', async () => {
  const anonymous = createClient(url, { apiKey: anonKey })
  await assert.rejects(anonymous.callFn('createMessage', { roomId, body: 'x' }), (error) => error instanceof IsolaError && error.code === 'AUTH_REQUIRED' && error.status === 401)
})

test('live: the first value, a pushed one after a mutation, and none after close', async () => {
  // A second subscriber to the same query stays subscribed: once it has seen a write, the closed one would have too.
  const witness = createClient(url, { apiKey: anonKey, accessToken: adaToken })
  try {
    const seen = []
    const subscription = await bob.realtime.live('listMessages', { roomId }, (value) => seen.push(value))
    assert.deepEqual(seen.map((value) => value.map((m) => m.body)), [['first']]) // live resolves after the first value

    await ada.callFn('createMessage', { roomId, body: 'second' })
    await until(() => seen.length === 2, 'the pushed value')
    assert.deepEqual(seen[1].map((m) => m.body), ['first', 'second'])

    const witnessed = []
    await witness.realtime.live('listMessages', { roomId }, (value) => witnessed.push(value))
    await subscription.close()
    await ada.callFn('createMessage', { roomId, body: 'third' })
    await until(() => witnessed.length === 2, "the witness's pushed value")
    assert.deepEqual(witnessed[1].map((m) => m.body), ['first', 'second', 'third'])
    assert.equal(seen.length, 2, 'a value arrived after close()')

    // A refused subscription rejects with the node's code.
    await assert.rejects(bob.realtime.live('createMessage', { roomId, body: 'x' }, () => {}), (error) => error instanceof IsolaError && error.code === 'INVALID_REQUEST')
  } finally {
    await bob.realtime.close()
    await witness.realtime.close()
  }
})
