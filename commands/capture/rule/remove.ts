import {Args} from '@oclif/core'
import {MailboxCommand} from '../../../src/cli/base-command.js'

export default class CaptureRuleRemove extends MailboxCommand {
  static override summary = 'Remove a capture-mode fault-injection rule.'
  static override examples = ['<%= config.bin %> capture rule remove 0mwrf3k2a1b2c3d40001']
  static override args = {id: Args.string({required: true, ignoreStdin: true})}

  async run() {
    const {args, flags} = await this.parse(CaptureRuleRemove)
    const rule = await (await this.openStore(flags['data-dir'])).capture.removeRule(args.id)
    this.say(`removed rule ${rule.id}`)
    return rule
  }
}
