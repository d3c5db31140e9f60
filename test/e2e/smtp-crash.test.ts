/**
 * Durability: a message that got `250` survives `kill -9` of the server at any moment.
 * Several connections stream messages; the server is killed mid-stream (twice, at different
 * moments); after each restart every acknowledged message must be in the mailbox, the store must
 * open cleanly, and the folder counters must match the message entries.
 */
import {connect} from 'node:net'
import {describe, expect, it} from 'vitest'
import {openStore} from '../../src/store/store.js'
import {mailboxMessagesRange} from '../../src/store/keys.js'
import {freePort, runCli, startServe, tempDataDir} from '../helpers/cli.js'
import {onReplies} from '../helpers/smtp-replies.js'

/** Sends messages one after another on one connection until it breaks; returns the acknowledged subjects. */
function streamMessages(port: number, tag: string, acked: string[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let n = 0
    let subject = ''
    let queue: string[] = []
    const next = () => {
      subject = `${tag}-${n++}`
      queue = ['MAIL FROM:<load@example.net>\r\n', 'RCPT TO:<alice@example.com>\r\n', 'DATA\r\n', `Subject: ${subject}\r\n\r\n${'x'.repeat(2000)}\r\n.\r\n`]
    }
    let greeted = false
    onReplies(socket, (line) => {
      if (!greeted) {
        greeted = true
        socket.write('EHLO crash\r\n')
        next()
        return
      }
      if (line.startsWith('250') && line.includes('queued as')) {
        acked.push(subject) // acknowledged: from here on it must survive
        next()
      }
      const step = queue.shift()
      if (step) socket.write(step)
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve())
  })
}

describe('kill -9 during SMTP ingest', () => {
  it('loses no acknowledged message', {timeout: 60_000}, async () => {
    const dataDir = tempDataDir()
    expect((await runCli(['domain', 'add', 'example.com'], {dataDir})).code).toBe(0)
    expect((await runCli(['user', 'add', 'alice@example.com', '--password-stdin'], {dataDir, input: 'pw\n'})).code).toBe(0)
    const acked: string[] = []
    // kill once the stream is flowing (so commits are in flight), at two different moments
    for (const [round, killAfterMs] of [[1, 150], [2, 400]] as const) {
      const port = await freePort()
      const served = await startServe(dataDir, ['--smtp-port', String(port)])
      const start = acked.length
      const streams = Array.from({length: 6}, (_, i) => streamMessages(port, `r${round}c${i}`, acked))
      while (acked.length < start + 30) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => setTimeout(r, killAfterMs))
      served.child.kill('SIGKILL')
      expect(await served.exited).toBe('SIGKILL')
      await Promise.all(streams)
    }
    // a fresh server takes over the stale pid file and opens the store cleanly
    const served = await startServe(dataDir)
    const list = await runCli(['message', 'list', 'alice@example.com', '--json'], {dataDir})
    expect(list.code, list.stderr).toBe(0)
    const subjects = new Set((JSON.parse(list.stdout) as {subject: string}[]).map((m) => m.subject))
    const lost = acked.filter((s) => !subjects.has(s))
    expect(lost, `${lost.length} of ${acked.length} acknowledged messages lost`).toEqual([])
    expect(await served.stop()).toBe(0)

    // counters agree with the entries, and every entry's blob exists with a matching reference count
    const store = openStore(dataDir)
    try {
      const inbox = store.mailboxes.get(['alice@example.com', 'INBOX'])!
      const entries = [...store.messages.getRange(mailboxMessagesRange(inbox.id)).map(({value}) => value)]
      expect(inbox.messages).toBe(entries.length)
      expect(inbox.size).toBe(entries.reduce((a, m) => a + m.size, 0))
      expect(inbox.uidNext).toBeGreaterThan(Math.max(...entries.map((m) => m.uid)))
      for (const m of entries) {
        expect(store.blobs.get(m.blobId)?.length).toBe(m.size)
        expect(store.blobInfo.get(m.blobId)?.refs).toBe(1)
      }
    } finally {
      await store.close()
    }
  })
})
