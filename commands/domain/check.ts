import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {recordConfig, recordFlags} from '../../src/cli/record-flags.js'
import {parseDuration} from '../../src/duration.js'
import {CHECK_EXIT, checkRecords} from '../../src/dns-records/check.js'
import {DEFAULT_LOOKUP_TIMEOUT_MS, DnsLookup, lookupTimeout} from '../../src/dns-records/lookup.js'
import {domainRecords} from '../../src/dns-records/records.js'
import {renderCheck} from '../../src/dns-records/report.js'
import {recordSetup} from '../../src/dns-records/setup.js'

export default class DomainCheck extends MailboxCommand {
  static override summary = 'Look up the DNS records of a local domain and report each as ok, warning, missing or different.'
  static override description = `Expects what \`mailbox domain dns\` prints (same flags). SPF, DMARC, DKIM and the others are compared by meaning: spacing, tag order or another report address are ok; SPF ~all or DMARC quarantine are warnings. Exit codes: ${CHECK_EXIT.ok} every required record is ok, ${CHECK_EXIT.failed} one is missing or different, ${CHECK_EXIT.tempfail} DNS did not answer (unreachable, or lookups timed out): try again.`
  static override examples = [
    '<%= config.bin %> domain check example.com --hostname mail.example.com --ip 192.0.2.25',
    '<%= config.bin %> domain check example.com --config /etc/mailbox/mailbox.jsonc --dns-server 1.1.1.1 --json',
  ]
  static override args = {domain: Args.string({required: true, ignoreStdin: true, description: 'a local domain'})}
  static override flags = {
    ...recordFlags,
    'dns-server': Flags.string({
      summary: 'DNS server to ask, IP or IP:PORT (repeatable; default: dnsServers of --config, else the system resolver).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    timeout: Flags.string({summary: 'Time limit of each lookup, 100ms to 60s.', default: `${DEFAULT_LOOKUP_TIMEOUT_MS / 1000}s`}),
  }

  async run() {
    const {args, flags} = await this.parse(DomainCheck)
    const config = recordConfig(flags)
    const setup = await recordSetup(await this.openStore(flags['data-dir']), config, args.domain)
    const dns = new DnsLookup(config.dnsServers, lookupTimeout(parseDuration(flags.timeout)))
    let report
    try {
      report = await checkRecords(domainRecords(setup), setup, dns)
    } finally {
      dns.close()
    }
    if (report.outcome === 'unreachable') {
      // set, not thrown: with --json stdout stays one JSON value (the report)
      process.stderr.write(`Error: no answer from DNS (${report.dnsServers}) within ${flags.timeout} per lookup: cannot check ${setup.domain}\n`)
    } else {
      this.say(renderCheck(report))
    }
    process.exitCode = report.outcome === 'ok' ? CHECK_EXIT.ok : report.outcome === 'failed' ? CHECK_EXIT.failed : CHECK_EXIT.tempfail
    return report
  }
}
