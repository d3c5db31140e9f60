import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {queueChange} from '../../src/cli/queue-change.js'

export default class QueueRelease extends MailboxCommand {
  static override summary = 'Release a held entry: it is due at once.'
  static override examples = ['<%= config.bin %> queue release 0mwrf3k2a1b2c3d40001']
  static override args = {id: Args.string({description: 'entry id, or any unique prefix or suffix of it', required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(QueueRelease)
    const entry = await queueChange(flags['data-dir'], 'queue.release', {id: args.id}, (store) => store.queue.release(args.id), () => this.openStore(flags['data-dir']))
    this.say(`released ${entry.id}`)
    return entry
  }
}
