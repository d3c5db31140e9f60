/**
 * `mailbox user vacation`: an away reply (RFC 5230) as a Sieve script named `vacation`, written
 * and activated for the user, and taken away again with `--off`.
 *
 * A user has one active script, so turning vacation on must not turn their filters off: when
 * another script was active, the generated one merges that script's `require`s and carries its
 * commands after the vacation block (as they were at that moment), and names it in a header
 * line (`# mailbox-vacation previous: "NAME"`), so `--off` activates it again and removes
 * `vacation`. Turning vacation on again (new dates, new text) keeps that name and takes the
 * named script's current text. A script called `vacation` that this code did not write is
 * never replaced or removed (`conflict`).
 *
 * `until` (a YYYY-MM-DD date, the last day replies go out, in the server's time zone) is a
 * `currentdate :value "le" "date"` guard around the reply: after it, the script still runs the
 * carried rules, and answers no one.
 */
import {normalizeAddress} from '../address.js'
import {MailboxError} from '../errors.js'
import type {Node} from '../sieve/validate.js'
import type {MailboxStore, SieveQuota, SieveScript} from '../store/backend.js'
import {checkedSieve} from './scripts.js'

/** the name of the script this writes */
export const VACATION_SCRIPT = 'vacation'
const MARK = '# mailbox-vacation'
const PREVIOUS = /^# mailbox-vacation previous: (".*")$/m

export interface VacationSettings {
  subject: string
  /** the reply's text */
  message: string
  /** YYYY-MM-DD: the last day replies go out; absent: until turned off */
  until?: string
  /** RFC 5230 :days, at least one reply per sender in this many days (absent: the default, 7) */
  days?: number
  /** :addresses, the user's other addresses the mail may have come to */
  addresses?: string[]
}

export interface VacationState {
  /** the generated script is the active one */
  on: boolean
  /** the user's active script, whichever it is */
  active?: string
  /** the script active before vacation, which `--off` activates again */
  previous?: string
  settings?: VacationSettings
}

/** a Sieve quoted string (RFC 5228 §2.4.2: `\` and `"` escaped; line breaks may stand in it) */
export const sieveString = (s: string): string => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** throws `invalid` for settings that would make a broken or misleading reply */
export function checkVacationSettings(s: VacationSettings): VacationSettings {
  if (!s.subject.trim() || /[\r\n]/.test(s.subject)) throw new MailboxError('invalid', 'the vacation subject must be one non-empty line')
  if (!s.message.trim()) throw new MailboxError('invalid', 'the vacation message is empty')
  if (s.until !== undefined) {
    const m = DATE.exec(s.until)
    const date = m && new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
    if (!date || date.toISOString().slice(0, 10) !== s.until) throw new MailboxError('invalid', `--until must be a date as YYYY-MM-DD, not ${JSON.stringify(s.until)}`)
  }
  if (s.days !== undefined && (!Number.isInteger(s.days) || s.days < 1 || s.days > 365)) throw new MailboxError('invalid', '--days must be a whole number from 1 to 365')
  return {...s, ...(s.addresses ? {addresses: s.addresses.map(normalizeAddress)} : {})}
}

/** where `line`/`column` (1-based, as the Sieve lexer counts: UTF-16 units after the last LF) is in `text` */
function offsetOf(text: string, line: number, column: number): number {
  let at = 0
  for (let l = 1; l < line; l++) at = text.indexOf('\n', at) + 1
  return at + column - 1
}

/** a script's capabilities and its text after the `require`s (`what` names it in errors) */
function rulesOf(content: string, what: string): {requires: string[]; rest: string} {
  const script = checkedSieve(content, {maxScriptBytes: Number.MAX_SAFE_INTEGER}, what)
  // a second vacation in one run is a runtime error: every message would be kept in INBOX, its rules and both replies off
  if (findVacation(script.commands)) {
    throw new MailboxError('conflict', `${what} has a vacation rule of its own (a mail client's away reply): turn that off, or deactivate the script, before using mailbox user vacation`)
  }
  const first = script.commands[0]
  return {requires: [...script.requires], rest: first ? content.slice(offsetOf(content, first.line, first.column)).trimEnd() : ''}
}

/** The generated script: the header, the merged requires, the reply (guarded by `until`), then the previous script's rules. */
export function vacationScript(settings: VacationSettings, previous?: {name: string; content: string}): string {
  const rules = previous ? rulesOf(previous.content, `the script ${JSON.stringify(previous.name)}`) : {requires: [], rest: ''}
  const requires = new Set(['vacation', ...(settings.until ? ['date', 'relational'] : []), ...rules.requires])
  const tags = [
    ...(settings.days !== undefined ? [`:days ${settings.days}`] : []),
    `:subject ${sieveString(settings.subject)}`,
    ...(settings.addresses?.length ? [`:addresses [${settings.addresses.map(sieveString).join(', ')}]`] : []),
  ]
  const reply = `vacation ${tags.join(' ')} ${sieveString(settings.message)};`
  const lines = [
    `${MARK}: written by \`mailbox user vacation\`; \`mailbox user vacation USER --off\` removes it${previous ? ' and activates the script named below again' : ''}`,
    ...(previous ? [`${MARK} previous: ${JSON.stringify(previous.name)}`] : []),
    `require [${[...requires].map(sieveString).join(', ')}];`,
    settings.until ? `if currentdate :value "le" "date" ${sieveString(settings.until)} {\n  ${reply}\n}` : reply,
  ]
  if (previous) lines.push(`# the rules of ${JSON.stringify(previous.name)}, as they were when vacation was turned on:`, rules.rest)
  return `${lines.join('\n')}\n`
}

/** whether this code wrote the script */
export const isGeneratedVacation = (content: string): boolean => content.startsWith(`${MARK}:`)

/** the script named in the header as the one to activate again */
export function previousOf(content: string): string | undefined {
  const m = PREVIOUS.exec(content)
  if (!m) return undefined
  try {
    return JSON.parse(m[1]!) as string
  } catch {
    return undefined
  }
}

/** the first `vacation` action of a parsed script, depth first, with the `currentdate` guard around it */
function findVacation(nodes: Node[], guard?: Node): {node: Node; guard?: Node} | undefined {
  for (const node of nodes) {
    if (node.name === 'vacation') return {node, guard}
    const inner = findVacation(node.block ?? [], node.tests[0]?.name === 'currentdate' ? node.tests[0] : guard) ?? findVacation(node.branches ?? [], guard)
    if (inner) return inner
  }
  return undefined
}

/** the settings a generated script was written with, read back from its vacation action */
export function settingsOf(content: string): VacationSettings | undefined {
  let found
  try {
    found = findVacation(checkedSieve(content, {maxScriptBytes: Number.MAX_SAFE_INTEGER}).commands)
  } catch {
    return undefined
  }
  if (!found) return undefined
  const {node, guard} = found
  const text = (a: unknown): string | undefined => ((a as {kind?: string})?.kind === 'string' ? (a as {value: string}).value : undefined)
  const list = (a: unknown): string[] | undefined => ((a as {kind?: string})?.kind === 'list' ? (a as {values: string[]}).values : undefined)
  const days = node.tags.get('days') as {kind: string; value: number} | undefined
  const until = guard && (text(guard.args[guard.args.length - 1]) ?? list(guard.args[guard.args.length - 1])?.[0])
  return {
    subject: text(node.tags.get('subject')) ?? '',
    message: text(node.args[node.args.length - 1]) ?? '',
    ...(until !== undefined ? {until} : {}),
    ...(days?.kind === 'number' ? {days: days.value} : {}),
    ...(list(node.tags.get('addresses')) ? {addresses: list(node.tags.get('addresses'))} : {}),
  }
}

/** refuses a `vacation` script this code did not write: it is the user's own */
function ours(script: SieveScript | undefined, user: string): SieveScript | undefined {
  if (script && !isGeneratedVacation(script.content)) {
    throw new MailboxError('conflict', `${user} has a Sieve script named "${VACATION_SCRIPT}" of their own: rename it (mailbox sieve rename) before using mailbox user vacation`)
  }
  return script
}

/** Writes and activates the vacation script (see the top of this file); returns the state after. */
export async function vacationOn(store: MailboxStore, user: string, input: VacationSettings, quota: SieveQuota): Promise<VacationState> {
  const settings = checkVacationSettings(input)
  const existing = ours(await store.sieve.get(user, VACATION_SCRIPT), user)
  const active = await store.sieve.active(user)
  const previousName = active && active.name !== VACATION_SCRIPT ? active.name : existing && active ? previousOf(existing.content) : undefined
  const previous = previousName === undefined ? undefined : await store.sieve.get(user, previousName)
  const text = vacationScript(settings, previous)
  checkedSieve(text, quota, 'the vacation script')
  await store.sieve.put(user, VACATION_SCRIPT, text, quota)
  await store.sieve.activate(user, VACATION_SCRIPT)
  return vacationState(store, user)
}

/** Takes vacation away: the previous script active again (if it is still there), `vacation` removed. */
export async function vacationOff(store: MailboxStore, user: string): Promise<VacationState & {removed: boolean}> {
  const existing = ours(await store.sieve.get(user, VACATION_SCRIPT), user)
  if (existing) {
    if (existing.active) {
      const previous = previousOf(existing.content)
      const back = previous !== undefined && (await store.sieve.get(user, previous)) ? previous : null
      await store.sieve.activate(user, back)
    }
    await store.sieve.remove(user, VACATION_SCRIPT)
  }
  return {...(await vacationState(store, user)), removed: existing !== undefined}
}

export async function vacationState(store: MailboxStore, user: string): Promise<VacationState> {
  const active = await store.sieve.active(user)
  const script = await store.sieve.get(user, VACATION_SCRIPT)
  const generated = script && isGeneratedVacation(script.content) ? script : undefined
  const previous = generated && previousOf(generated.content)
  const settings = generated && settingsOf(generated.content)
  return {
    on: generated?.active ?? false,
    ...(active ? {active: active.name} : {}),
    ...(previous !== undefined ? {previous} : {}),
    ...(settings ? {settings} : {}),
  }
}
