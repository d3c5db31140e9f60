/**
 * What `user show`, `user list --json` and the dashboard say of a user's Sieve filtering: the
 * active script's name, and whether vacation is on (the active script requires the `vacation`
 * extension: it can send away replies). Read from the leading `require`s with the tokenizer
 * alone: cheap, and light to load (these are quick reading commands, test/e2e/cli-startup.test.ts).
 */
import {tokenize} from '../sieve/lexer.js'
import type {MailboxStore, SieveScript} from '../store/backend.js'

export interface SieveSummary {
  /** the active script's name; null: no filtering */
  script: string | null
  vacation: boolean
}

/** the capabilities named by the `require`s a script starts with (none for a script that does not tokenize) */
export function leadingRequires(content: string): string[] {
  let tokens
  try {
    tokens = tokenize(content)
  } catch {
    return []
  }
  const found: string[] = []
  let i = 0
  while (tokens[i]?.kind === 'identifier' && tokens[i]!.text === 'require') {
    i++
    while (tokens[i] && tokens[i]!.kind !== 'eof' && !(tokens[i]!.kind === 'punct' && tokens[i]!.text === ';')) {
      if (tokens[i]!.kind === 'string') found.push(tokens[i]!.text)
      i++
    }
    i++
  }
  return found
}

export const sieveSummaryOf = (active: SieveScript | undefined): SieveSummary => ({
  script: active?.name ?? null,
  vacation: active !== undefined && leadingRequires(active.content).some((r) => r === 'vacation' || r === 'vacation-seconds'),
})

/** each user's summary, by address (one `active` read per user) */
export async function sieveSummaries(store: MailboxStore, addresses: string[]): Promise<Map<string, SieveSummary>> {
  const summaries = await Promise.all(addresses.map(async (a) => [a, sieveSummaryOf(await store.sieve.active(a))] as const))
  return new Map(summaries)
}

/** a summary as one short cell: the script's name, "(vacation)" after it when vacation is on */
export const sieveCell = (s: SieveSummary | undefined): string => (s?.script == null ? '' : `${s.script}${s.vacation ? ' (vacation)' : ''}`)
