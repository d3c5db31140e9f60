/**
 * The config file `mailbox init` writes: a short JSONC file with the keys a public mail host
 * needs (host name, every address, the standard ports, public addresses, TLS files), each with its
 * description from CONFIG_SCHEMA, so it reads like docs/mailbox.example.jsonc. init validates it
 * with `config check`'s own code before anything is written in place.
 */
import {isIPv6} from 'node:net'
import {CONFIG_SCHEMA, type SchemaNode} from '../config-schema.js'
import {LETS_ENCRYPT_DIRECTORY} from '../acme/config.js'
import {STANDARD_PORTS} from '../config.js'

export interface InitConfigSettings {
  hostname: string
  publicAddresses: string[]
  tlsCert: string
  tlsKey: string
  /** shown in the header: the data dir is not a config key */
  dataDir: string
  configFile: string
  /** ACME on (init --acme-email); absent: the section is written commented out, with Let's Encrypt's directory */
  acme?: {directory: string; email: string}
}

/**
 * Every address: `::` when a public address is IPv6 (on Linux it takes IPv4 too), else 0.0.0.0,
 * which also works on hosts with IPv6 turned off.
 */
export const bindAddress = (publicAddresses: string[]): string => (publicAddresses.some((ip) => isIPv6(ip)) ? '::' : '0.0.0.0')

const ACME_COMMENT = "certificates from Let's Encrypt (ACME) for the host name and mta-sts./autoconfig. of each local domain, renewed by themselves; needs ports 80/443 (standardPorts) reachable and DNS pointing here"

/** the parent domain of a host name (mail.example.com → example.com), for the example contact */
const domainOf = (hostname: string) => hostname.split('.').slice(1).join('.') || hostname

const describe = (key: string) => (CONFIG_SCHEMA as SchemaNode & {kind: 'object'}).keys[key]!.description

export function initConfigText(s: InitConfigSettings): string {
  const standard = Object.entries(STANDARD_PORTS).map(([name, port]) => `${name.toUpperCase()} ${port}`).join(', ')
  const entry = (key: string, value: unknown, comment = describe(key)) => [`  // ${comment}`, `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`]
  const entries = [
    entry('hostname', s.hostname),
    entry('bind', bindAddress(s.publicAddresses), `${describe('bind')}: every address`),
    entry('standardPorts', true, `the standard ports: ${standard}`),
    entry('managesieve', {port: 4190}, 'ManageSieve (RFC 5804): users manage their Sieve filters from their mail client, STARTTLS on the standard port 4190'),
    s.acme ? entry('acme', s.acme, ACME_COMMENT) : [`  // ${ACME_COMMENT}: remove the // of the next line and give your address`, `  // ${JSON.stringify('acme')}: ${JSON.stringify({directory: LETS_ENCRYPT_DIRECTORY, email: `postmaster@${domainOf(s.hostname)}`})}`],
    entry('publicAddresses', s.publicAddresses),
    entry(
      'tlsCert',
      s.tlsCert,
      `${describe('tlsCert')}: a self-signed one made by mailbox init; replace both files with a CA-signed certificate (full chain) and its key, then \`systemctl reload mailbox\``,
    ),
    entry('tlsKey', s.tlsKey),
  ]
  return `// mailbox configuration for ${s.hostname}, written by \`mailbox init\`. Every key, with its default:
// docs/mailbox.example.jsonc. Check it with \`mailbox config check --config ${s.configFile} --data-dir ${s.dataDir}\`.
// The data directory is not a config key: the systemd unit sets it (MAILBOX_DATA_DIR);
// by hand: mailbox serve --config ${s.configFile} --data-dir ${s.dataDir}
{
${entries.map((lines, i) => (i < entries.length - 1 ? [...lines.slice(0, -1), `${lines.at(-1)},`] : lines).join('\n')).join('\n')}
}
`
}
