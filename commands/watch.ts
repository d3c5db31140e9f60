import {Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {DEFAULT_PORTS} from '../src/config.js'
import {parseDuration} from '../src/duration.js'
import {watch} from '../src/matcher/client.js'

export default class Watch extends MailboxCommand {
  static override summary = 'Wait for one mail matching --to/--from/--subject; exit 0 when it comes, 1 when the timeout passes.'
  static override description =
    'A client of the matcher protocol (serve --matcher-port, default 60510). Patterns are case-insensitive substrings or /regex/flags. --since also looks at mail that arrived in the last N seconds, so a mail that came before the watch started is not missed.'
  static override examples = [
    '<%= config.bin %> watch --to bob@x.test --subject reset --timeout 30s',
    "<%= config.bin %> watch --to bob@x.test --json | jq -r '.links[0]'",
    '<%= config.bin %> watch --subject "/code: \\\\d{6}/" --since 1m & ./app-under-test; wait',
  ]
  static override flags = {
    to: Flags.string({summary: 'Recipient pattern (envelope or To/Cc).'}),
    from: Flags.string({summary: 'Sender pattern (envelope or From).'}),
    subject: Flags.string({summary: 'Subject pattern.'}),
    timeout: Flags.string({summary: 'How long to wait, e.g. 30s, 2m.', default: '30s'}),
    since: Flags.string({summary: 'Also match mail received this long before the watch started, e.g. 60s.'}),
    raw: Flags.boolean({summary: 'Include the raw message (base64) in --json output.'}),
    host: Flags.string({summary: 'Matcher host.', default: '127.0.0.1'}),
    port: Flags.integer({summary: 'Matcher port.', default: DEFAULT_PORTS.matcher, min: 1, max: 65535}),
  }

  async run() {
    const {flags} = await this.parse(Watch)
    const timeoutS = parseDuration(flags.timeout) / 1000
    const result = await watch(flags.host, flags.port, {
      ...(flags.to ? {to: flags.to} : {}),
      ...(flags.from ? {from: flags.from} : {}),
      ...(flags.subject ? {subject: flags.subject} : {}),
      timeout_s: timeoutS,
      ...(flags.since ? {since_s: parseDuration(flags.since) / 1000} : {}),
      ...(flags.raw ? {raw: true} : {}),
    })
    if (!result.matched) {
      // exit code 1 without oclif's error document, so `--json` output stays one JSON value
      process.exitCode = 1
      if (!this.jsonEnabled()) process.stderr.write(`no matching mail within ${flags.timeout}\n`)
      return {matched: false, matchId: result.matchId}
    }
    const {email} = result as Extract<typeof result, {matched: true}>
    this.say(
      [
        `from:     ${email.from}`,
        `to:       ${email.to.join(', ')}`,
        `subject:  ${email.subject}`,
        ...(email.codes.length ? [`codes:    ${email.codes.join(' ')}`] : []),
        ...email.links.slice(0, 10).map((l, i) => (i === 0 ? `links:    ${l}` : `          ${l}`)),
      ].join('\n'),
    )
    return email
  }
}
