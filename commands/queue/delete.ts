import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {queueChange} from '../../src/cli/queue-change.js'

export default class QueueDelete extends MailboxCommand {
  static override summary = 'Delete an entry without sending it and without a bounce.'
  static override examples = ['<%= config.bin %> queue delete 0mwrf3k2a1b2c3d40001']
  static override args = {id: Args.string({description: 'entry id, or any unique prefix or suffix of it', required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(QueueDelete)
    const entry = await queueChange(flags['data-dir'], 'queue.delete', {id: args.id}, (store) => store.queue.delete(args.id), () => this.openStore(flags['data-dir']))
    this.say(`deleted ${entry.id}`)
    return entry
  }
}
