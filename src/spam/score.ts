/**
 * The built-in spam score: a sum of weighted tests, SpamAssassin style, and the decision it
 * makes against the thresholds. Pure: the lookups are done (./dnsbl.ts, ./helo.ts) and the
 * authentication verdicts given (src/mail-auth) before this runs.
 *
 * A list counts its weight once, however many return codes it answered; each code still names
 * its test (`DNSBL_ZEN_SBL`, `DNSBL_ZEN_XBL`). Tests with weight 0 are off and not named.
 */
import type {AuthWeights, SpamConfig} from './config.js'
import type {ListResult} from './dnsbl.js'
import {HELO_WEIGHT, type HeloTest} from './helo.js'

/** what the MX does with the message: `defer` only comes from rspamd (soft reject, greylist) */
export type SpamAction = 'deliver' | 'junk' | 'reject' | 'defer'

/** the SPF, DKIM and DMARC results mail-auth recorded (src/mail-auth/actor.ts `verdict`) */
export interface AuthResults {
  spf: string
  dkim: string[]
  dmarc: string
}

export interface ScoreInput {
  lists: readonly ListResult[]
  helo: readonly HeloTest[]
  unknownRecipients: number
  auth?: AuthResults
}

export interface Test {
  name: string
  weight: number
}

export interface Scored {
  /** rounded to one decimal, as shown in X-Spam-Score */
  score: number
  /** the tests that hit, in the order: lists, HELO, recipients, authentication */
  tests: Test[]
}

type Weights = Pick<SpamConfig, 'heloChecks' | 'authChecks' | 'unknownRecipientWeight'>

export function scoreOf(input: ScoreInput, weights: Weights): Scored {
  const tests: Test[] = []
  for (const list of input.lists) {
    // the weight goes with the first test of the list, the others are named at 0
    list.tests.forEach((name, i) => tests.push({name, weight: i === 0 ? list.weight : 0}))
  }
  const others: Test[] = input.helo.map((name) => ({name, weight: weights.heloChecks[HELO_WEIGHT[name]]}))
  if (input.unknownRecipients > 0) others.push({name: 'UNKNOWN_RCPT', weight: input.unknownRecipients * weights.unknownRecipientWeight})
  if (input.auth) others.push(...authTests(input.auth, weights.authChecks))
  // a weight of 0 turns a test off
  tests.push(...others.filter((t) => t.weight !== 0))
  return {score: round(tests.reduce((sum, t) => sum + t.weight, 0)), tests}
}

function authTests(auth: AuthResults, weights: AuthWeights): Test[] {
  const tests: Test[] = []
  if (auth.spf === 'fail') tests.push({name: 'SPF_FAIL', weight: weights.spfFail})
  if (auth.spf === 'softfail') tests.push({name: 'SPF_SOFTFAIL', weight: weights.spfSoftfail})
  // mailauth says neutral for a signature whose body hash does not match: a broken signature
  if (auth.dkim.some((r) => r === 'fail' || r === 'neutral')) tests.push({name: 'DKIM_FAIL', weight: weights.dkimFail})
  if (auth.dmarc === 'fail') tests.push({name: 'DMARC_FAIL', weight: weights.dmarcFail})
  return tests
}

export const round = (n: number): number => Math.round(n * 10) / 10

export interface Decision {
  action: SpamAction
  /** monitor mode: what enforce would have done */
  would?: SpamAction
}

/** the thresholds applied: reject from `rejectScore`, Junk from `junkScore` */
export function decide(score: number, config: Pick<SpamConfig, 'mode' | 'junkScore' | 'rejectScore'>): Decision {
  const action: SpamAction = score >= config.rejectScore ? 'reject' : score >= config.junkScore ? 'junk' : 'deliver'
  return monitored(action, config.mode)
}

/** in monitor mode every message is delivered; the action it would have had is kept for the log */
export function monitored(action: SpamAction, mode: SpamConfig['mode']): Decision {
  return mode === 'enforce' || action === 'deliver' ? {action} : {action: 'deliver', would: action}
}

/** the reply text's reasons: the heaviest few tests, briefly */
export function briefReasons(tests: readonly Test[], max = 4): string {
  const named = [...tests].filter((t) => t.weight > 0).sort((a, b) => b.weight - a.weight)
  const shown = named.slice(0, max).map((t) => t.name)
  return shown.length ? shown.join(', ') + (named.length > max ? ', …' : '') : 'score'
}
