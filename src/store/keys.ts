/**
 * The only place store keys are built. See ./README.md for the layout.
 * Keys are lmdb ordered-binary tuples: numbers sort before strings, arrays compare element-wise.
 */
import type {QueuePriority, QueueState} from './records.js'

/**
 * Sorts after every string in a key (used as an open upper bound). Key strings are stored as
 * UTF-8, where the byte 0xFF never occurs; a string bound such as '\uffff' (EF BF BF) would sort
 * before every character outside the BMP (F0..F4 …), e.g. a folder named "😀 Fun".
 */
const MAX_STRING = new Uint8Array([0xff])

export const dkimKeyKey = (domain: string, selector: string): [string, string] => [domain, selector]
export const domainDkimKeysRange = (domain: string) => ({start: [domain, ''], end: [domain, MAX_STRING]})

export const userMailboxesRange = (user: string) => ({start: [user, ''], end: [user, MAX_STRING]})
export const mailboxKey = (user: string, name: string): [string, string] => [user, name]
/** a user's subscribed names (IMAP SUBSCRIBE): the same key shape as folders, in their own database */
export const subscriptionKey = mailboxKey
export const userSubscriptionsRange = userMailboxesRange

export const messageKey = (mailboxId: number, uid: number): [number, number] => [mailboxId, uid]
export const mailboxMessagesRange = (mailboxId: number) => ({start: [mailboxId, 0], end: [mailboxId + 1, 0]})

const PRIORITY_ORDER: Record<QueuePriority, number> = {high: 0, default: 1, bulk: 2}
/** queue index: by state, then priority, then due time — the foreman scans `queued` in this order */
export const queueIndexKey = (state: QueueState, priority: QueuePriority, dueAt: number, id: string): [string, number, number, string] => [
  state,
  PRIORITY_ORDER[priority],
  dueAt,
  id,
]
export const queueStateRange = (state: QueueState) => ({start: [state], end: [state + '\u0000']})
/** the entries of one state and priority (0 high … 2 bulk) due (final: finished) before `before`, oldest first */
export const queueDueBeforeRange = (state: QueueState, priority: number, before: number) => ({start: [state, priority], end: [state, priority, before]})

export const deliveryLogKey = (queueId: string, attempt: number): [string, number] => [queueId, attempt]
export const deliveryLogRange = (queueId: string) => ({start: [queueId, 0], end: [queueId, Number.MAX_SAFE_INTEGER]})

/** familiar login sources: [user, network] (see familiar-addresses.ts, lmdb-auth.ts) */
export const familiarAddressKey = (user: string, network: string): [string, string] => [user, network]
export const userFamiliarAddressesRange = (user: string) => ({start: [user, ''], end: [user, MAX_STRING]})

/** learning jobs in due order: [dueAt, id] (an index beside `learnJobs`, keyed by id) */
export const learnDueKey = (dueAt: number, id: string): [number, string] => [dueAt, id]
export const learnDueBeforeRange = (before: number) => ({start: [0, ''], end: [before + 1, '']})

/** a user's Sieve scripts: [user, name] (see lmdb-sieve.ts) */
export const sieveScriptKey = (user: string, name: string): [string, string] => [user, name]
export const userSieveScriptsRange = (user: string) => ({start: [user, ''], end: [user, MAX_STRING]})
/** vacation replies sent: [user, hash of the sender and the reply's parameters] → until (see lmdb-sieve.ts) */
export const vacationReplyKey = (user: string, hash: string): [string, string] => [user, hash]
export const userVacationRepliesRange = userSieveScriptsRange
/** `settings`: a named secret (see lmdb-settings.ts) */
export const secretKey = (name: string): [string, string] => ['secret', name]
/** `certs`: a certificate by its first name, an ACME account by its directory URL (see lmdb-certs.ts) */
export const certificateKey = (name: string): [string, string] => ['certificate', name]
export const acmeAccountKey = (directory: string): [string, string] => ['account', directory]
export const certificatesRange = {start: ['certificate', ''], end: ['certificate', MAX_STRING]}
export const acmeAccountsRange = {start: ['account', ''], end: ['account', MAX_STRING]}
