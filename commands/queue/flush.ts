import {MailboxCommand} from '../../src/cli/base-command.js'
import {queueChange} from '../../src/cli/queue-change.js'
import {flushEntries} from '../../src/queue/ops.js'

export default class QueueFlush extends MailboxCommand {
  static override summary = 'Make every deferred entry due now.'
  static override examples = ['<%= config.bin %> queue flush']

  async run() {
    const {flags} = await this.parse(QueueFlush)
    const entries = await queueChange(flags['data-dir'], 'queue.flush', {}, (store) => flushEntries(store))
    this.say(`${entries.length} deferred entr${entries.length === 1 ? 'y' : 'ies'} due now`)
    return entries
  }
}
