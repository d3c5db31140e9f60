import {Args} from '@oclif/core'
import {resolve} from 'node:path'
import type {AcmeRenewResult} from '../../src/acme/manager.js'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTime} from '../../src/cli/table.js'
import {connectControl} from '../../src/control/client.js'
import {MailboxError} from '../../src/errors.js'

export default class CertRenew extends MailboxCommand {
  static override summary = 'Order certificates from the ACME CA now, due for renewal or not (the running server does it and serves them at once).'
  static override description =
    'Asks the server running on the data dir over its control socket. Without NAME every name is ordered: the host name, and mta-sts.D and autoconfig.D of each local domain. Exits 1 when an order fails (the server then retries with backoff; `mailbox status` shows it).'
  static override examples = ['<%= config.bin %> cert renew', '<%= config.bin %> cert renew mail.example.com --json']
  static override args = {name: Args.string({description: 'the name whose certificate to order (default: every name)'})}

  async run(): Promise<AcmeRenewResult[]> {
    const {args, flags} = await this.parse(CertRenew)
    const dataDir = resolve(flags['data-dir'])
    const client = await connectControl(dataDir)
    if (!client) throw new MailboxError('unavailable', `no server is running on ${dataDir}: certificates are ordered by \`mailbox serve\` (with acme.directory or --acme-directory)`)
    let results: AcmeRenewResult[]
    try {
      results = await client.call('acme.renew', args.name === undefined ? {} : {name: args.name})
    } finally {
      client.close()
    }
    this.say(results.map((r) => (r.ok ? `${r.name}: renewed, serial ${r.serial}, valid until ${formatTime(r.notAfter!)} (${r.issuer})` : `${r.name}: failed: ${r.error}`)).join('\n') || 'no names to certify')
    if (results.some((r) => !r.ok)) process.exitCode = 1
    return results
  }
}
