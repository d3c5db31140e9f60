/**
 * What `mailbox send` does with a message once it has its bytes: through the running server's
 * control socket when there is one (IDLE, the matcher and the dashboard see it), else straight
 * into the store with the offline mail settings (./offline-mail.ts), local recipients' Sieve
 * scripts included.
 */
import {connectControl} from '../control/client.js'
import {injectMessage} from '../mailstore/submit.js'
import type {MailboxStore} from '../store/backend.js'
import {offlineMailSettings} from './offline-mail.js'
import {createLogger} from '../log.js'
import {SieveDelivery} from '../sieve-delivery/index.js'

export interface SendReply {
  id: string
  stored: {user: string; folder: string; uid: number}[]
  queued: string[]
}

/** `openStore` is asked only when no server runs; the caller closes what it opened */
export async function sendMessage(
  dataDir: string,
  input: {from: string; to: string[]; raw: Buffer; config?: string},
  openStore: () => Promise<MailboxStore>,
): Promise<SendReply> {
  const message = toCrlf(input.raw)
  const client = await connectControl(dataDir)
  if (client) {
    try {
      return await client.call('mailstore.inject', {from: input.from, to: input.to, raw: message.toString('base64')})
    } finally {
      client.close()
    }
  }
  const {hostname, dkim, sieve: config, srs} = offlineMailSettings(dataDir, input.config)
  // the scripts' log lines (a failed script, a refused redirect) go to stderr, as a command's warnings do
  const log = createLogger({level: 'warn', pretty: false, write: (line) => void process.stderr.write(line)}, {component: 'sieve'})
  const sieve = new SieveDelivery({config, hostname, log, srs})
  const {result} = await injectMessage(await openStore(), {from: input.from, to: input.to, raw: message, hostname, dkim, srs, sieve})
  return {id: result.id, stored: result.stored, queued: result.queued.map((q) => q.id)}
}

/** Files on Unix end lines with LF; stored mail uses CRLF (RFC 5322 §2.1). */
function toCrlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')
}
