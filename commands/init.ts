import {realpathSync} from 'node:fs'
import {userInfo} from 'node:os'
import {isSea} from 'node:sea'
import {Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {refuseStoreUrl} from '../src/store/open.js'
import {zoneText} from '../src/dns-records/zone.js'
import {runInit, type InitResult} from '../src/init/init.js'

/** how a systemd unit starts this very program: the single executable, or node and bin/mailbox */
function programCommand(): string[] {
  return isSea() ? [process.execPath] : [process.execPath, realpathSync(process.argv[1]!)]
}

export default class Init extends MailboxCommand {
  static override summary = 'Set up a new installation: config file, domain with DKIM keys, postmaster user, aliases, DNS records, systemd unit.'
  static override description = `Writes a config file (every address, the standard ports, the TLS files, the host name; checked as \`config check\` would) to --config, default /etc/mailbox/mailbox.jsonc when run as root, else mailbox.jsonc beside the data dir; a self-signed TLS pair into DATA_DIR/tls/ (replace it with a CA-signed one); the systemd unit mailbox.service beside the config file (not installed). In the store, in one transaction: the domain with its DKIM keys, the user postmaster@DOMAIN with a generated password printed once (only its hash is stored), and abuse@, hostmaster@, dmarc-reports@ and tls-reports@ aliased to it. Prints the DNS records to publish (as \`domain dns\`) and the next three commands.
Refuses, before writing anything, when the config or unit file exists or the store already holds a domain; --force replaces the files and sets the domain up in the existing store (existing records kept, postmaster gets a new password).`
  static override examples = [
    '<%= config.bin %> init --hostname mail.example.com --domain example.com --ip 192.0.2.25 --ip 2001:db8::25 --data-dir /var/lib/mailbox',
    '<%= config.bin %> init --hostname mail.example.com --domain example.com --json',
  ]
  static override flags = {
    hostname: Flags.string({summary: "The server's public host name, fully qualified (its MX target), e.g. mail.example.com.", required: true}),
    domain: Flags.string({summary: 'The first mail domain, e.g. example.com.', required: true}),
    config: Flags.string({summary: 'Where to write the config file (default: /etc/mailbox/mailbox.jsonc as root, else mailbox.jsonc beside the data dir).'}),
    ip: Flags.string({
      summary: "The host's public IPv4 or IPv6 address (repeatable): publicAddresses in the config, A/AAAA and SPF records. An IPv6 one makes the server bind to :: (all addresses, IPv4 too).",
      multiple: true,
      multipleNonGreedy: true,
    }),
    force: Flags.boolean({summary: 'Replace an existing config and unit file, and set the domain up in a store that already holds domains.'}),
    'acme-email': Flags.string({
      summary: "Turn ACME on with Let's Encrypt (its production directory): certificates for the host name and mta-sts./autoconfig. of each domain, obtained and renewed by the server; this address is the account's contact. Without it the config shows the acme section commented out.",
    }),
  }

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(Init)
    if (flags.store !== undefined) refuseStoreUrl(flags.store, 'mailbox init', 'use domain add, user add and alias add with --store')
    const result = await runInit({
      hostname: flags.hostname,
      domain: flags.domain,
      dataDir: flags['data-dir'],
      configFile: flags.config,
      publicAddresses: flags.ip ?? [],
      ...(flags['acme-email'] === undefined ? {} : {acmeEmail: flags['acme-email']}),
      force: flags.force,
      asRoot: process.getuid?.() === 0,
      userName: userInfo().username,
      command: programCommand(),
    })
    this.say(report(result))
    return result
  }
}

function report(r: InitResult): string {
  const made = (created: boolean, what: string) => `${created ? 'created' : 'kept (there already)'} ${what}`
  return [
    `wrote the config file ${r.configFile}`,
    `wrote the systemd unit ${r.unitFile} (runs as ${r.unitUser}; not installed)`,
    r.acme
      ? `TLS: certificates from ${r.acme.directory} (ACME), ordered at the first start once DNS points here; until then the self-signed one in ${r.tlsCert} serves`
      : `TLS: a self-signed certificate for ${r.hostname} in ${r.tlsCert} and ${r.tlsKey}: replace them with a CA-signed pair, or turn ACME on (the acme section of the config, or init --acme-email)`,
    `data dir ${r.dataDir}: ${made(r.domainCreated, `domain ${r.domain} with its DKIM keys`)}`,
    `${r.postmasterCreated ? 'created the user' : 'new password for the user'} ${r.postmaster}, password (shown only this once, not stored):`,
    '',
    `    ${r.password}`,
    '',
    ...(r.aliasesAdded.length ? [`aliased to ${r.postmaster}: ${r.aliasesAdded.join(', ')}`] : []),
    ...(r.aliasesKept.length ? [`kept as they were: ${r.aliasesKept.join(', ')}`] : []),
    '',
    zoneText(r.records, [
      `DNS records for ${r.domain}, its mail host ${r.hostname} (also: mailbox domain dns ${r.domain} --config ${r.configFile})`,
      ...(r.records.some((record) => record.kind === 'address') ? [] : [`${r.hostname} needs A and/or AAAA records too: give --ip to print them`]),
    ]),
    '',
    'next:',
    ...r.next.map((command, i) => `  ${i + 1}. ${command}`),
  ].join('\n')
}
