/**
 * The flags `domain dns` and `domain check` share: where the host name and addresses come from
 * (the server's config file, overridden by flags), and the effective configuration they give.
 */
import {Flags} from '@oclif/core'
import {effectiveConfig, type ServeConfig} from '../config.js'
import {isPublishableAddress} from '../dns-records/records.js'
import {MailboxError} from '../errors.js'

export const recordFlags = {
  config: Flags.string({summary: "The server's config file: its hostname, publicAddresses, ports (and dnsServers for check)."}),
  hostname: Flags.string({summary: "The server's public host name, e.g. mail.example.com (default: hostname of --config, else the system's)."}),
  ip: Flags.string({
    summary: "The host's public IPv4 or IPv6 address (repeatable; default: publicAddresses of --config). Without one no A/AAAA records are printed and SPF says mx only.",
    multiple: true,
    multipleNonGreedy: true,
  }),
}

export function recordConfig(flags: {'data-dir': string; config?: string; hostname?: string; ip?: string[]; 'dns-server'?: string[]}): ServeConfig {
  for (const ip of flags.ip ?? []) if (!isPublishableAddress(ip)) throw new MailboxError('invalid', `invalid --ip ${JSON.stringify(ip)}: not an IPv4 or IPv6 address`)
  return effectiveConfig({
    dataDir: flags['data-dir'],
    configFile: flags.config,
    flags: {hostname: flags.hostname, publicAddresses: flags.ip, dnsServers: flags['dns-server']},
  })
}
