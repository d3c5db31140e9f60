import {MailboxCommand} from '../../src/cli/base-command.js'
import {certConfigFlag, defaultPairOf} from '../../src/cli/cert-config.js'
import {formatTable} from '../../src/cli/table.js'
import {listCertificates} from '../../src/certs/inventory.js'

export default class CertList extends MailboxCommand {
  static override summary = 'List the certificates the TLS listeners serve: the default pair and those kept in the store (ACME), with names, issuer, expiry and days left.'
  static override description =
    'A client naming a host (SNI) gets the certificate covering it (exact name, then a wildcard), any other the default one. --json adds subject, serial, SHA-256 fingerprint and validity start.'
  static override examples = ['<%= config.bin %> cert list', '<%= config.bin %> cert list --json']
  static override flags = {config: certConfigFlag}

  async run() {
    const {flags} = await this.parse(CertList)
    const store = await this.openStore(flags['data-dir'], {readOnly: true})
    const certificates = await listCertificates(store, await defaultPairOf(flags))
    this.say(
      formatTable(certificates, [
        {header: 'name', get: (c) => (c.default ? 'default' : c.name)},
        {header: 'names', get: (c) => c.names.join(',')},
        {header: 'issuer', get: (c) => c.issuer},
        {header: 'not after', get: (c) => c.notAfter.replace(/\.\d+Z$/, 'Z')},
        {header: 'days left', get: (c) => c.daysLeft},
        {header: 'source', get: (c) => c.source},
      ]),
    )
    return certificates
  }
}
