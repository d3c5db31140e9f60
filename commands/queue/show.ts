import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTime} from '../../src/cli/table.js'
import {attemptText} from '../../src/queue/attempt-text.js'

export default class QueueShow extends MailboxCommand {
  static override summary = 'Show a queue entry with every delivery attempt and its SMTP transcript.'
  static override description = 'ID is the full id or any unique prefix or suffix of it (the dashboard shows the last 10 characters).'
  static override examples = ['<%= config.bin %> queue show 0mwrf3k2a1b2c3d40001', '<%= config.bin %> queue show 1b2c3d40001']
  static override args = {id: Args.string({description: 'entry id, or any unique prefix or suffix of it', required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(QueueShow)
    const store = await this.openStore(flags['data-dir'])
    const entry = await store.queue.find(args.id)
    const attempts = await store.queue.attempts(entry.id)
    this.say(
      [
        `id:        ${entry.id}`,
        `state:     ${entry.state} (${entry.priority} priority)`,
        `from:      ${entry.from || '<>'}`,
        ...entry.recipients.map((r, i) => `${i ? '          ' : 'to:       '}${r.address}  ${r.state}${r.lastError ? `  ${r.lastError}` : ''}`),
        `created:   ${formatTime(entry.createdAt)}`,
        `attempts:  ${entry.attempts}${entry.state === 'deferred' || entry.state === 'queued' ? `, next ${formatTime(entry.nextAttemptAt)}` : ''}`,
        ...attempts.flatMap((a) => ['', ...attemptText(a, formatTime)]),
      ].join('\n'),
    )
    return {...entry, attemptLog: attempts}
  }
}
