/**
 * What IMAP sessions do to folders (CREATE, RENAME, SUBSCRIBE, DELETE) commits in the server's
 * async group commits: a synchronous LMDB transaction would fsync on the event loop that serves
 * every other session. The spy on `env.transactionSync` guards that.
 */
import {afterAll, expect, it, vi} from 'vitest'
import {Bus} from '../../src/bus.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser} from '../../src/directory/users.js'
import {silentLogger} from '../../src/log.js'
import {MailstoreActor} from '../../src/mailstore/actor.js'
import {tempStore} from '../helpers/store.js'

const store = tempStore()
const bus = new Bus()
const mailstore = new MailstoreActor(bus, store, silentLogger, {hostname: 'test.example'})

afterAll(() => mailstore.stop())

it('CREATE, RENAME, SUBSCRIBE and DELETE through the mailstore actor commit without a synchronous transaction', async () => {
  await addDomain(store, 'example.com')
  await addUser(store, {address: 'amy@example.com', password: 'a long enough password'})
  await mailstore.start()
  const user = 'amy@example.com'
  const syncCommits = vi.spyOn(store.env, 'transactionSync')
  try {
    await bus.call('mailstore.createFolder', {user, name: 'Projects/2026'})
    await bus.call('mailstore.renameFolder', {user, from: 'Projects', to: 'Work'})
    await bus.call('mailstore.subscribe', {user, name: 'Work/2026', subscribed: true})
    await bus.call('mailstore.deleteFolder', {user, name: 'Work/2026'})
    await expect(bus.call('mailstore.createFolder', {user, name: 'Work'})).rejects.toThrow(/already exists/)
    expect(syncCommits.mock.calls.length).toBe(0)
  } finally {
    syncCommits.mockRestore()
  }
  const names = (await store.mail.folders(user)).map((f) => f.name)
  expect(names).toContain('Work')
  expect(names).not.toContain('Work/2026')
  expect(names).not.toContain('Projects')
})
