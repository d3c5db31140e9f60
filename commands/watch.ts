import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {parseDuration} from '../src/duration.js'
import {findMatcher, watch} from '../src/matcher/client.js'

export default class Watch extends MailboxCommand {
  static override summary = 'Wait for one mail matching --to/--from/--subject; exit 0 when it comes, 1 when the timeout passes.'
  static override description =
    'A client of the matcher protocol (serve --capture, or --matcher-port). Without --host/--port it asks the server running on --data-dir where its matcher listens (else 127.0.0.1:60510); without --token it sends DATA_DIR/matcher.token, only to the matcher of the server running on --data-dir. Patterns are case-insensitive substrings or /regex/flags. --since also looks at mail that arrived in the last N seconds, so a mail that came before the watch started is not missed.'
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
    host: Flags.string({summary: 'Matcher host (default: where the server on --data-dir listens, else 127.0.0.1).'}),
    port: Flags.integer({summary: 'Matcher port (default: the server on --data-dir says, else 60510).', min: 1, max: 65535}),
    token: Flags.string({summary: 'Token the matcher requires (default: DATA_DIR/matcher.token, for the matcher of the server running on --data-dir only).', env: 'MAILBOX_MATCHER_TOKEN'}),
  }

  async run() {
    const {flags} = await this.parse(Watch)
    const timeoutS = parseDuration(flags.timeout) / 1000
    const endpoint = await findMatcher(resolve(flags['data-dir']), {host: flags.host, port: flags.port, token: flags.token})
    const result = await watch(endpoint, {
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
