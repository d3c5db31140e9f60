import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {queueChange} from '../../src/cli/queue-change.js'
import {MailboxError} from '../../src/errors.js'

export default class QueueRetry extends MailboxCommand {
  static override summary = 'Make an entry (or, with --all, every queued and deferred entry) due now.'
  static override examples = ['<%= config.bin %> queue retry 0mwrf3k2a1b2c3d40001', '<%= config.bin %> queue retry --all']
  static override args = {id: Args.string({description: 'entry id, or any unique prefix or suffix of it', ignoreStdin: true})}
  static override flags = {all: Flags.boolean({summary: 'Every queued and deferred entry.'})}

  async run() {
    const {args, flags} = await this.parse(QueueRetry)
    if (!args.id === !flags.all) throw new MailboxError('invalid', 'give an entry ID or --all')
    const entries = await queueChange(flags['data-dir'], 'queue.retry', args.id ? {id: args.id} : {}, (store) =>
      args.id ? store.queue.retry(args.id).then((e) => [e]) : store.queue.retryAll(), () => this.openStore(flags['data-dir']))
    this.say(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} due now`)
    return entries
  }
}
