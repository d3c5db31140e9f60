/**
 * A `serve` for the tests of whole stores (store copy, verify): IMAP and SMTP on free ports,
 * remote mail for example.net to a test relay, retries a minute apart (a deferred entry stays
 * deferred), and imapflow logged in to it.
 */
import {ImapFlow} from 'imapflow'
import {freePort, startServe, type Served} from '../helpers/cli.js'
import {HOST} from './imap-helpers.js'
import {writeQueueConfig} from './queue-helpers.js'

export interface Ports {
  imap: number
  smtp: number
}

/** `serve` on `dataDir` with IMAP and SMTP on free ports, remote mail for example.net to `relayPort`, retries a minute apart */
export async function serveWithRelay(dataDir: string, relayPort: number): Promise<{served: Served; ports: Ports}> {
  const ports = {imap: await freePort(), smtp: await freePort()}
  const config = writeQueueConfig(dataDir, {retry: {scheduleMs: [60_000], maxLifetimeMs: 432_000_000}}, `queue-${ports.imap}.json`)
  const served = await startServe(dataDir, [
    '--imap-port', String(ports.imap),
    '--smtp-port', String(ports.smtp),
    '--allow-insecure-auth',
    '--config', config,
    '--route', `example.net=127.0.0.1:${relayPort}`,
  ])
  return {served, ports}
}

export async function imapLogin(ports: Ports, user: {address: string; password: string}): Promise<ImapFlow> {
  const client = new ImapFlow({host: HOST, port: ports.imap, secure: false, doSTARTTLS: false, auth: {user: user.address, pass: user.password}, logger: false})
  await client.connect()
  return client
}
