import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../../src/cli/base-command.js'

export default class CaptureRuleAdd extends MailboxCommand {
  static override summary = 'Add a fault-injection rule for capture mode: matching recipients get this reply instead of acceptance.'
  static override description = 'Rules apply at once, also to a running server. --stage rcpt answers the RCPT command; --stage data accepts the recipients and answers the end of DATA. Without --times the rule fires every time.'
  static override examples = [
    '<%= config.bin %> capture rule add --to bob@x.test --reply "451 4.3.0 try again later" --times 2',
    '<%= config.bin %> capture rule add --to "/@flaky\\.test$/" --reply "554 5.6.0 rejected" --stage data',
  ]
  static override flags = {
    to: Flags.string({summary: 'Recipient pattern: substring or /regex/flags.', required: true}),
    reply: Flags.string({summary: 'The SMTP reply, e.g. "451 4.3.0 try again later" (4xx or 5xx).', required: true}),
    times: Flags.integer({summary: 'Fire for the next N matching recipients only.', min: 1}),
    stage: Flags.string({summary: 'When to answer.', options: ['rcpt', 'data'], default: 'rcpt'}),
  }

  async run() {
    const {flags} = await this.parse(CaptureRuleAdd)
    const rule = await (await this.openStore(flags['data-dir'])).capture.addRule({to: flags.to, reply: flags.reply, remaining: flags.times, stage: flags.stage as 'rcpt' | 'data'})
    this.say(`added rule ${rule.id}: ${rule.to} -> "${rule.reply}" at ${rule.stage}${rule.remaining ? `, ${rule.remaining} time(s)` : ''}`)
    return rule
  }
}
