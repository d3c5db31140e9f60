/** The `--config` flag of the commands that store Sieve scripts, and the quota it gives (config `sieve.*`). */
import {Flags} from '@oclif/core'
import {sieveQuotaOf} from '../sieve-scripts/config.js'
import type {SieveQuota} from '../store/backend.js'
import {readInput} from './read-input.js'

export const sieveConfigFlag = Flags.string({summary: "The server's config file (for sieve.maxScripts and sieve.maxScriptBytes)."})

/**
 * The quota of the effective config. ../config.ts is loaded here, when a script is to be
 * stored: it reaches node:crypto, which a command that only shows (`user vacation USER`) never
 * loads (test/e2e/cli-startup.test.ts).
 */
export async function sieveQuotaFrom(flags: {'data-dir': string; config?: string}): Promise<SieveQuota> {
  const {effectiveConfig} = await import('../config.js')
  return sieveQuotaOf(effectiveConfig({dataDir: flags['data-dir'], configFile: flags.config}))
}

/** a script's text from FILE, or stdin for `-`, at most the quota's bytes */
export const readSieveInput = (path: string, quota: SieveQuota): Promise<string> => readInput(path, quota.maxScriptBytes, 'sieve.maxScriptBytes')
