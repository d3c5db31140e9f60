/**
 * A queue change from the CLI: through the live server's control socket when one runs here (so
 * it is serialized with the sending and takes effect at once), else straight on the store the
 * command opens (the data dir's, or a PostgreSQL store shared by nodes, whose foremen hold their
 * entries under leases: a change there is refused for an entry being sent, as by the server).
 */
import {resolve} from 'node:path'
import type {Action, Reply, Request} from '../bus.js'
import {connectControl} from '../control/client.js'
import type {MailboxStore} from '../store/backend.js'

export async function queueChange<A extends Action>(
  dataDir: string,
  action: A,
  body: Request<A>,
  offline: (store: MailboxStore) => Reply<A> | Promise<Reply<A>>,
  openStore: () => Promise<MailboxStore>,
): Promise<Reply<A>> {
  const client = await connectControl(resolve(dataDir))
  if (client) {
    try {
      return await client.call(action, body)
    } finally {
      client.close()
    }
  }
  // the command closes the store it opened
  return offline(await openStore())
}
