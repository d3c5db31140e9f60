import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {certConfigFlag, defaultPairOf} from '../../src/cli/cert-config.js'
import {showCertificate} from '../../src/certs/inventory.js'

export default class CertShow extends MailboxCommand {
  static override summary = 'Show one certificate: its names, subject, issuer, validity, days left, source, serial and SHA-256 fingerprint.'
  static override description = 'NAME is a name the certificate is kept under or covers, or `default` for the default pair (tlsCert, or the self-signed one).'
  static override examples = ['<%= config.bin %> cert show mail.example.com', '<%= config.bin %> cert show default --json']
  static override args = {name: Args.string({required: true, ignoreStdin: true, description: 'a DNS name, or default'})}
  static override flags = {config: certConfigFlag}

  async run() {
    const {args, flags} = await this.parse(CertShow)
    const store = await this.openStore(flags['data-dir'], {readOnly: true})
    const c = await showCertificate(store, args.name, await defaultPairOf(flags))
    this.say(
      [
        `name:         ${c.name}${c.default ? ' (default)' : ''}`,
        `names:        ${c.names.join(', ') || '(none)'}`,
        `subject:      ${c.subject}`,
        `issuer:       ${c.issuer}`,
        `not before:   ${c.notBefore}`,
        `not after:    ${c.notAfter}`,
        `days left:    ${c.daysLeft}`,
        `source:       ${c.source}${c.directory ? ` (${c.directory})` : ''}${c.file ? ` (${c.file})` : ''}`,
        `serial:       ${c.serial}`,
        `fingerprint:  ${c.fingerprint} (SHA-256)`,
      ].join('\n'),
    )
    return c
  }
}
