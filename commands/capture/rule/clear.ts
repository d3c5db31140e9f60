import {MailboxCommand} from '../../../src/cli/base-command.js'

export default class CaptureRuleClear extends MailboxCommand {
  static override summary = 'Remove every capture-mode fault-injection rule.'
  static override examples = ['<%= config.bin %> capture rule clear']

  async run() {
    const {flags} = await this.parse(CaptureRuleClear)
    const removed = await (await this.openStore(flags['data-dir'])).capture.clearRules()
    this.say(`removed ${removed} rule(s)`)
    return {removed}
  }
}
