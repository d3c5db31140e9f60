/**
 * One error type for everything `src/` refuses to do. The `code` says what kind of refusal it is,
 * so each edge (CLI exit code, SMTP reply, IMAP `NO [CODE]`, control-socket error) maps it one way.
 * Messages are short, generic and safe to show a client: no paths, no stack traces.
 */
export type ErrorCode =
  | 'invalid' // malformed input: an address, a size, a folder name
  | 'not-found'
  | 'exists'
  | 'conflict' // valid input that clashes with state: alias loop, domain still has users, INBOX delete
  | 'auth-failed'
  | 'throttled'
  | 'disabled'
  | 'quota' // a mailbox is over its quota
  | 'too-large' // a message or request over its size limit
  | 'locked' // another process holds the data dir
  | 'schema' // the store was written by a newer mailbox
  | 'unavailable' // the live server is needed and is not there

export class MailboxError extends Error {
  override readonly name = 'MailboxError'
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export function isMailboxError(err: unknown, code?: ErrorCode): err is MailboxError {
  return err instanceof MailboxError && (code === undefined || err.code === code)
}
