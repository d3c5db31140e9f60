import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {srsReverseWithStore} from '../../src/srs/admin.js'
import {DEFAULT_SRS} from '../../src/srs/route.js'

export default class SrsReverse extends MailboxCommand {
  static override summary = 'Show the address an SRS address stands for, if its hash and age check with this installation’s secret.'
  static override description = 'What a bounce to ADDRESS would be routed to. One that does not check is refused (exit code 1) saying why: malformed, expired or a hash that does not match.'
  static override examples = ['<%= config.bin %> srs reverse SRS0=HHHH=TT=example.net=alice@example.com']
  static override args = {address: Args.string({required: true, ignoreStdin: true, description: 'an SRS0 or SRS1 address'})}
  static override flags = {'max-age-days': Flags.integer({min: 1, max: 1000, default: DEFAULT_SRS.maxAgeDays, description: 'refuse addresses older than this (config srs.maxAgeDays)'})}

  async run() {
    const {args, flags} = await this.parse(SrsReverse)
    const reversed = await srsReverseWithStore(await this.openStore(flags['data-dir']), args.address, flags['max-age-days'])
    this.say(reversed.original)
    return reversed
  }
}
