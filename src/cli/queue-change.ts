/**
 * A queue change from the CLI: through the live server's control socket when one runs (so it
 * is serialized with the sending and takes effect at once), else straight on the store.
 */
import {resolve} from 'node:path'
import type {Action, Reply, Request} from '../bus.js'
import {connectControl} from '../control/client.js'
import {openStore, type Store} from '../store/store.js'

export async function queueChange<A extends Action>(dataDir: string, action: A, body: Request<A>, offline: (store: Store) => Reply<A> | Promise<Reply<A>>): Promise<Reply<A>> {
  const dir = resolve(dataDir)
  const client = await connectControl(dir)
  if (client) {
    try {
      return await client.call(action, body)
    } finally {
      client.close()
    }
  }
  const store = openStore(dir, {create: false})
  try {
    return await offline(store)
  } finally {
    await store.close()
  }
}
