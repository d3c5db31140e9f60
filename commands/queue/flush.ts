import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {queueChange} from '../../src/cli/queue-change.js'

export default class QueueFlush extends MailboxCommand {
  static override summary = 'Make every deferred entry due now (or, with --domain, those for one destination domain).'
  static override examples = ['<%= config.bin %> queue flush', '<%= config.bin %> queue flush --domain example.net']
  static override flags = {domain: Flags.string({summary: 'Only entries for this destination domain (like postqueue -s).'})}

  async run() {
    const {flags} = await this.parse(QueueFlush)
    const body = flags.domain === undefined ? {} : {domain: flags.domain}
    const entries = await queueChange(flags['data-dir'], 'queue.flush', body, (store) => store.queue.flush(flags.domain), () => this.openStore(flags['data-dir']))
    const what = `${entries.length} deferred entr${entries.length === 1 ? 'y' : 'ies'}`
    this.say(`${what}${flags.domain === undefined ? '' : ` for ${flags.domain.toLowerCase()}`} due now`)
    return entries
  }
}
