import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {srsForwardWithStore} from '../../src/srs/admin.js'

export default class SrsForward extends MailboxCommand {
  static override summary = 'Show the SRS address that forwarded mail from ADDRESS gets as its envelope sender.'
  static override description =
    'The address is made with this installation’s SRS secret (kept in the store) and today’s date, as forwarding does; a bounce to it comes back to ADDRESS while it is younger than srs.maxAgeDays.'
  static override examples = ['<%= config.bin %> srs forward alice@example.net --domain example.com']
  static override args = {address: Args.string({required: true, ignoreStdin: true, description: 'the original envelope sender'})}
  static override flags = {domain: Flags.string({required: true, description: 'the local domain the mail is forwarded from'})}

  async run() {
    const {args, flags} = await this.parse(SrsForward)
    const made = await srsForwardWithStore(await this.openStore(flags['data-dir']), args.address, flags.domain)
    this.say(made.address)
    return made
  }
}
