import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable, formatTime} from '../../src/cli/table.js'
import {QUEUE_STATES} from '../../src/status.js'
import type {QueueState} from '../../src/store/records.js'

export default class QueueList extends MailboxCommand {
  static override summary = 'List outbound queue entries: id, sender, recipients, state, attempts, next attempt, last error.'
  static override examples = ['<%= config.bin %> queue list', '<%= config.bin %> queue list --state deferred --json']
  static override flags = {
    state: Flags.string({summary: 'Only entries in this state.', options: QUEUE_STATES}),
    limit: Flags.integer({summary: 'At most this many entries.', min: 1}),
  }

  async run() {
    const {flags} = await this.parse(QueueList)
    let entries = await (await this.openStore(flags['data-dir'])).queue.entries(flags.state as QueueState | undefined)
    if (flags.limit) entries = entries.slice(0, flags.limit)
    const view = entries.map((e) => ({
      id: e.id,
      from: e.from,
      recipients: e.recipients.map((r) => r.address),
      domain: e.domain,
      state: e.state,
      priority: e.priority,
      attempts: e.attempts,
      createdAt: e.createdAt,
      nextAttemptAt: e.nextAttemptAt,
      lastError: e.lastError ?? null,
    }))
    this.say(
      formatTable(view, [
        {header: 'id', get: (e) => e.id},
        {header: 'state', get: (e) => e.state},
        {header: 'attempts', get: (e) => e.attempts},
        {header: 'next attempt', get: (e) => (e.state === 'queued' || e.state === 'deferred' ? formatTime(e.nextAttemptAt) : '')},
        {header: 'from', get: (e) => e.from || '<>'},
        {header: 'to', get: (e) => e.recipients.join(', ')},
        {header: 'last error', get: (e) => (e.lastError ?? '').slice(0, 60)},
      ]),
    )
    return view
  }
}
