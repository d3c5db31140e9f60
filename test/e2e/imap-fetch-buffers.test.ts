/**
 * FETCH's batch buffers are pooled and shared by every session (src/imap/reply-batch.ts): one is
 * filled again only after the socket (plain or TLS) has let go of it. Several sessions, over
 * IMAPS and plain IMAP, fetch many distinct messages at once, each batch many messages big: every
 * byte must come back as stored. A buffer reused too early shows as another message's bytes.
 */
import {createHash, randomBytes} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectFlow, type ImapServer, simpleMessage, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const COUNT = 40
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

let server: ImapServer
const stored: string[] = []

beforeAll(async () => {
  server = await startImapServer()
  const client = await connectFlow(server, alice)
  await client.mailboxCreate('Pool')
  for (let i = 0; i < COUNT; i++) {
    // 60-120 KB each, no two alike: a batch of 256 KiB holds a few of them
    const body = randomBytes(45_000 + ((i * 7919) % 45_000)).toString('base64').replace(/.{76}/g, '$&\r\n')
    const message = simpleMessage({subject: `pool ${i}`, body})
    stored.push(sha(Buffer.from(message.replace(/\r?\n/g, '\r\n'))))
    await client.append('Pool', message)
  }
  await client.logout()
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('FETCH with pooled batch buffers', () => {
  it('three sessions at once, over IMAPS and plain IMAP, each get every message byte for byte', async () => {
    const fetchAll = async (tls: boolean) => {
      const client = await connectFlow(server, alice, {tls})
      await client.mailboxOpen('Pool', {readOnly: true})
      const got: string[] = []
      for await (const m of client.fetch('1:*', {source: true})) got.push(sha(m.source!))
      await client.logout()
      return got
    }
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all([fetchAll(true), fetchAll(false), fetchAll(true)])
      for (const got of results) expect(got).toEqual(stored)
    }
  }, 60_000)
})
