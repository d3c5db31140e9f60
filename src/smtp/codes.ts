/**
 * SMTP replies used by the front-end, as named constants (mox style): a handler never writes a
 * bare number. `SmtpError` carries `responseCode`, which is what the SMTP layer (./protocol/)
 * reads from a hook error; the message starts with the RFC 3463 enhanced code, which the layer
 * then sends as it is (./protocol/replies.ts).
 */
export class SmtpError extends Error {
  /** which reply this is (its key in `reply`): what metrics count refusals by */
  reason = 'other'

  constructor(
    readonly responseCode: number,
    enhanced: string,
    text: string,
  ) {
    super(`${enhanced} ${text}`)
  }
}

/** A reply configured by a capture rule: code and text as given (the text may carry its enhanced code). */
export function ruleReply(code: number, text: string): Error & {responseCode: number} {
  return Object.assign(new Error(text), {responseCode: code, captureRule: true})
}

/** each reply says which it is (SmtpError.reason): its key */
function named<T extends Record<string, (...args: never[]) => SmtpError>>(replies: T): T {
  for (const [key, make] of Object.entries(replies)) Object.assign(replies, {[key]: (...args: never[]) => Object.assign(make(...args), {reason: key})})
  return replies
}

export const reply = named({
  unknownUser: () => new SmtpError(550, '5.1.1', 'No such user here'),
  /** an SRS address of ours whose hash or age fails (src/srs/route.ts): `why` says which */
  srsRefused: (why: string) => new SmtpError(550, '5.1.1', `Invalid bounce address (${why})`),
  relayDenied: () => new SmtpError(550, '5.7.1', 'Relaying denied'),
  mailboxDisabled: () => new SmtpError(550, '5.2.1', 'Mailbox disabled'),
  mailboxFull: () => new SmtpError(552, '5.2.2', 'Mailbox full'),
  senderNotOwned: () => new SmtpError(553, '5.7.1', 'Sender address not owned by the authenticated user'),
  /** the From header names an address the authenticated user may not send as */
  fromNotOwned: (address: string) => new SmtpError(550, '5.7.1', `From header address ${JSON.stringify(address.slice(0, 100))} is not owned by the authenticated user`),
  badSender: () => new SmtpError(553, '5.1.7', 'Invalid sender address'),
  badRecipient: () => new SmtpError(553, '5.1.3', 'Invalid recipient address'),
  authFailed: () => new SmtpError(535, '5.7.8', 'Authentication credentials invalid'),
  authThrottled: () => new SmtpError(454, '4.7.0', 'Too many failed logins, try again later'),
  tooManyConnections: () => new SmtpError(421, '4.7.0', 'Too many connections from your address, try again later'),
  localError: () => new SmtpError(451, '4.3.0', 'Local error in processing, try again later'),
  tooBig: () => new SmtpError(552, '5.3.4', 'Message exceeds the maximum size'),
  loop: () => new SmtpError(554, '5.4.6', 'Routing loop detected'),
  /** SPF/DKIM/DMARC policy refused the message (RFC 7372) */
  authRefused: (why: string) => new SmtpError(550, '5.7.1', `Message refused: ${why}`),
  /** a DNS failure left the message's authentication undecided */
  authDeferred: (why: string) => new SmtpError(451, '4.7.0', `Sender authentication could not be checked (${why}), try again later`),
  /** RFC 6647 §2.1: a temporary refusal at RCPT that a real MTA retries */
  greylisted: (seconds: number) => new SmtpError(450, '4.7.1', `Greylisted, please try again in ${seconds} seconds`),
  /** the spam score (or rspamd) refused the message; `why`: the tests, briefly */
  spamRefused: (why: string) => new SmtpError(550, '5.7.1', `Message refused as spam (${why.slice(0, 200)})`),
  /** rspamd asked for a later try (soft reject, greylist) */
  spamDeferred: () => new SmtpError(451, '4.7.1', 'Message deferred by the spam filter, try again later'),
  /** the only recipient's Sieve script refused the message (RFC 5429 §2.1.1): its reason, on one line */
  sieveRejected: (reason: string) => new SmtpError(550, '5.7.1', reason.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 400) || 'Message rejected'),
  /** the connection named too many recipients that do not exist (a directory harvest): closed */
  tooManyUnknownRecipients: () => new SmtpError(421, '4.7.0', 'Too many unknown recipients, closing connection'),
})

/** why a hook refused: a reply's key, `captureRule` for a capture rule's reply, or `other` */
export function refusalReason(err: Error): string {
  if (err instanceof SmtpError) return err.reason
  return (err as {captureRule?: boolean}).captureRule ? 'captureRule' : 'other'
}
