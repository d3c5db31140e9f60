/** The `--config` flag of `cert list|show`, and the default pair it names (config `tlsCert`). */
import {Flags} from '@oclif/core'
import type {DefaultPair} from '../certs/inventory.js'

export const certConfigFlag = Flags.string({summary: "The server's config file (for tlsCert: the default certificate; without it, the self-signed one of the data dir)."})

/** ../config.ts is loaded here, when asked: it reaches node:crypto */
export async function defaultPairOf(flags: {'data-dir': string; config?: string}): Promise<DefaultPair> {
  const {effectiveConfig} = await import('../config.js')
  const config = effectiveConfig({dataDir: flags['data-dir'], configFile: flags.config})
  return {dataDir: config.dataDir, ...(config.tlsCert ? {tlsCert: config.tlsCert} : {})}
}
