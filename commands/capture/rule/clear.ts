import {MailboxCommand} from '../../../src/cli/base-command.js'
import {clearRules} from '../../../src/capture/rules.js'

export default class CaptureRuleClear extends MailboxCommand {
  static override summary = 'Remove every capture-mode fault-injection rule.'
  static override examples = ['<%= config.bin %> capture rule clear']

  async run() {
    const {flags} = await this.parse(CaptureRuleClear)
    const removed = clearRules(this.openStore(flags['data-dir']))
    this.say(`removed ${removed} rule(s)`)
    return {removed}
  }
}
