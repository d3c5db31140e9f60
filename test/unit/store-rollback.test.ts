/**
 * A write the store refuses half-way leaves nothing: the server's async group commit runs each
 * callback as a child transaction of the batch, so a callback that throws after some writes is
 * rolled back alone, and the callbacks that share its batch still commit. (lmdb-js's plain
 * `transaction` kept the writes made before the throw: a delivery refused for its second
 * recipient left the blob and the first recipient's copy behind.)
 */
import {expect, it} from 'vitest'
import {tempStore} from '../helpers/store.js'

const store = tempStore()

it('a callback that throws after writing leaves none of its writes; its batch neighbours commit', async () => {
  const refused = store.transactAsync(() => {
    store.meta.putSync('half-way', 1)
    throw new Error('refused after a write')
  })
  const kept = store.transactAsync(() => {
    store.meta.putSync('neighbour', 2)
    return 'ok'
  })
  await expect(refused).rejects.toThrow('refused after a write')
  await expect(kept).resolves.toBe('ok')
  expect(store.meta.get('half-way')).toBeUndefined()
  expect(store.meta.get('neighbour')).toBe(2)
})

it('a synchronous transaction that throws leaves nothing either', () => {
  expect(() =>
    store.transact(() => {
      store.meta.putSync('sync-half-way', 1)
      throw new Error('refused')
    }),
  ).toThrow('refused')
  expect(store.meta.get('sync-half-way')).toBeUndefined()
})
