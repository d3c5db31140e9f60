/** folderEvents: what CREATE, DELETE and RENAME changed in a folder list, as NOTIFY's MailboxName reports it (RFC 5465 §5.4) */
import {describe, expect, it} from 'vitest'
import {folderEvents} from '../../src/mailstore/folder-events.js'
import type {MailboxRecord} from '../../src/store/records.js'

const user = 'u@example.test'
const folder = (id: number, name: string, more: Partial<MailboxRecord> = {}): MailboxRecord => ({
  id, user, name, uidValidity: id, uidNext: 1, highestModseq: 1, subscribed: false, messages: 0, unseen: 0, size: 0, createdAt: 0, ...more,
})
const shape = (children: boolean, noselect = false) => ({noselect, children})

describe('folderEvents', () => {
  it('a create with a made parent: both, each as it is after', () => {
    expect(folderEvents(user, [folder(1, 'INBOX')], [folder(1, 'INBOX'), folder(2, 'A'), folder(3, 'A/B', {subscribed: true})])).toEqual([
      {user, kind: 'name', name: 'A', folder: shape(true), subscribed: false},
      {user, kind: 'name', name: 'A/B', folder: shape(false), subscribed: true},
    ])
  })

  it('a rename carries its inferiors, each with its old name; INBOX renamed is the new name created, INBOX stays', () => {
    expect(folderEvents(user, [folder(2, 'A'), folder(3, 'A/B')], [folder(2, 'C'), folder(3, 'C/B')]).map((e) => [e.name, 'oldName' in e ? e.oldName : undefined])).toEqual([
      ['C', 'A'],
      ['C/B', 'A/B'],
    ])
    expect(folderEvents(user, [folder(1, 'INBOX')], [folder(9, 'INBOX'), folder(1, 'Old')])).toEqual([{user, kind: 'name', name: 'Old', folder: shape(false), subscribed: false}])
  })

  it('a delete: gone (folder null), or left as a \\Noselect placeholder; an unchanged list: nothing', () => {
    expect(folderEvents(user, [folder(2, 'A', {subscribed: true})], [])).toEqual([{user, kind: 'name', name: 'A', folder: null, subscribed: true}])
    expect(folderEvents(user, [folder(2, 'A'), folder(3, 'A/B')], [folder(2, 'A', {noselect: true}), folder(3, 'A/B')])).toEqual([{user, kind: 'name', name: 'A', folder: shape(true, true), subscribed: false}])
    expect(folderEvents(user, [folder(2, 'A')], [folder(2, 'A', {messages: 5})])).toEqual([])
  })
})
