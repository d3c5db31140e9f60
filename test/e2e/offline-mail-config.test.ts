/**
 * Mail written with no server running (`mailbox send`, `mailbox queue fail`) follows the server's
 * config when given `--config`: its host name (our Received field, an added Message-ID, the
 * bounce's MAILER-DAEMON@ address) and its DKIM switches (`dkim.sign`, `dkim.domains`). Before,
 * these commands used the machine's host name and signed for every local domain whatever the
 * config said. Without --config the defaults apply: the message is signed.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {runJson, tempDataDir} from '../helpers/cli.js'
import {dkimSignatures} from './dkim-helpers.js'
import {headerFields, setupUsers, withStore} from './smtp-helpers.js'

let dataDir: string
let unsigned: string
let signing: string

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  unsigned = join(dirname(dataDir), 'unsigned.jsonc')
  writeFileSync(unsigned, JSON.stringify({hostname: 'mx.example.com', dkim: {sign: false}}))
  signing = join(dirname(dataDir), 'signing.jsonc')
  writeFileSync(signing, JSON.stringify({hostname: 'mx.example.com'}))
})

interface Sent {
  id: string
  queued: string[]
}

const send = (from: string, args: string[] = []) =>
  runJson<Sent>(['send', '--from', from, '--to', 'bob@remote.test', ...args], {dataDir, input: 'Subject: offline\r\n\r\nhello\r\n'})

/** the bytes a queue entry will send */
const queuedMessage = (id: string): Promise<string> =>
  withStore(dataDir, (store) => {
    const entry = store.queueEntries.get(id)!
    return store.blobs.get(entry.blobId)!.toString('latin1')
  })

describe('offline mail follows --config', () => {
  it('mailbox send: without --config signed by example.com; with a config that turns signing off, unsigned and named after its hostname', async () => {
    const signed = await send('alice@example.com')
    expect(dkimSignatures(await queuedMessage(signed.queued[0]!)).map((s) => s.d)).toEqual(['example.com', 'example.com'])

    const plain = await send('alice@example.com', ['--config', unsigned])
    const raw = await queuedMessage(plain.queued[0]!)
    expect(dkimSignatures(raw)).toEqual([])
    const fields = headerFields(raw)
    expect(fields.find((f) => /^Received:/i.test(f))).toMatch(/^Received: by mx\.example\.com /)
    expect(fields.find((f) => /^Message-ID:/i.test(f))).toMatch(/@mx\.example\.com>/)
  })

  it('mailbox queue fail: the bounce comes from MAILER-DAEMON@ the configured hostname, signed by its domain, or unsigned as configured', async () => {
    for (const [config, signers] of [
      [unsigned, []],
      [signing, ['example.com', 'example.com']],
    ] as const) {
      // a remote sender's message to a remote recipient: its bounce leaves through the queue
      const original = await send('carol@remote.test')
      const failed = await runJson<{bouncedTo?: string}>(['queue', 'fail', original.queued[0]!, '--config', config], {dataDir})
      expect(failed.bouncedTo).toBe('carol@remote.test')
      const bounceId = await withStore(dataDir, (store) => {
        const ids = [...store.queueEntries.getRange()].filter(({value}) => value.from === '' && value.recipients.some((r) => r.address === 'carol@remote.test')).map(({key}) => String(key))
        return ids.at(-1)!
      })
      const bounce = await queuedMessage(bounceId)
      expect(headerFields(bounce).find((f) => /^From:/i.test(f))).toMatch(/MAILER-DAEMON@mx\.example\.com/)
      expect(dkimSignatures(bounce).map((s) => s.d)).toEqual(signers)
      // cleared for the next round's lookup
      await runJson(['queue', 'delete', bounceId], {dataDir})
    }
  })
})
