import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {recordConfig, recordFlags} from '../../src/cli/record-flags.js'
import {domainRecords} from '../../src/dns-records/records.js'
import {recordSetup} from '../../src/dns-records/setup.js'
import {zoneText} from '../../src/dns-records/zone.js'

export default class DomainDns extends MailboxCommand {
  static override summary = 'Print the DNS records to publish for a local domain, as zone-file lines.'
  static override description =
    'MX, the host name\'s A/AAAA (with --ip), SPF for the domain and the host name, every DKIM selector (retired ones marked), DMARC, MTA-STS, TLS-RPT, the RFC 6186 SRV records for mail clients and the autoconfiguration ones (autoconfig CNAME, _autodiscover SRV). Check what DNS serves with `mailbox domain check`. --json: a list of {name, type, ttl, value, kind, purpose, required, note}.'
  static override examples = [
    '<%= config.bin %> domain dns example.com --hostname mail.example.com --ip 192.0.2.25 --ip 2001:db8::25',
    '<%= config.bin %> domain dns example.com --config /etc/mailbox/mailbox.jsonc --json',
  ]
  static override args = {domain: Args.string({required: true, ignoreStdin: true, description: 'a local domain'})}
  static override flags = recordFlags

  async run() {
    const {args, flags} = await this.parse(DomainDns)
    const setup = await recordSetup(await this.openStore(flags['data-dir']), recordConfig(flags), args.domain)
    const records = domainRecords(setup)
    this.say(
      zoneText(records, [
        `DNS records for ${setup.domain}, its mail host ${setup.hostname} (mailbox domain dns)`,
        ...(setup.addresses.length ? [] : [`${setup.hostname} needs A and/or AAAA records too: give --ip (or publicAddresses in the config) to print them`]),
      ]),
    )
    return records
  }
}
