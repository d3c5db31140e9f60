/**
 * What a command that writes mail without the server (`send`, `queue fail` with no server
 * running) takes from the configuration the server runs with, so that mail is the same either
 * way: the host name (our Received field, a Message-ID or the MAILER-DAEMON@ address it adds),
 * which domains DKIM-sign (`dkim.sign`, `dkim.domains`) and the users' Sieve scripts (`sieve`).
 * Without --config: the defaults (the machine's host name; every local domain signs), as `serve`
 * without --config. `srs` routes mail to an SRS address of ours where it stands for, as the
 * server's RCPT does (and rewrites the sender of a script's forward).
 */
import {Flags} from '@oclif/core'
import {effectiveConfig} from '../config.js'
import type {DkimConfig} from '../dkim/outbound.js'
import type {SieveDeliveryConfig} from '../sieve-delivery/config.js'
import type {SrsConfig} from '../srs/route.js'

export const offlineConfigFlag = Flags.string({
  summary: "The server's config file: its hostname and dkim settings apply to what is written while no server runs.",
})

export function offlineMailSettings(dataDir: string, configFile: string | undefined): {hostname: string; dkim: DkimConfig; sieve: SieveDeliveryConfig; srs: SrsConfig} {
  const config = effectiveConfig({dataDir, configFile})
  return {hostname: config.hostname, dkim: config.dkim, sieve: config.sieve, srs: config.srs}
}
