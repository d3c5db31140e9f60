import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {queueChange} from '../../src/cli/queue-change.js'

export default class QueueHold extends MailboxCommand {
  static override summary = 'Hold a queued or deferred entry: it is not sent until released.'
  static override examples = ['<%= config.bin %> queue hold 0mwrf3k2a1b2c3d40001']
  static override args = {id: Args.string({description: 'entry id, or any unique prefix or suffix of it', required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(QueueHold)
    const entry = await queueChange(flags['data-dir'], 'queue.hold', {id: args.id}, (store) => store.queue.hold(args.id), () => this.openStore(flags['data-dir']))
    this.say(`held ${entry.id}`)
    return entry
  }
}
