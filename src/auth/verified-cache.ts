/**
 * Recently verified credentials, so a client that logs in again and again (a phone checking mail
 * every few minutes, a POP3 poller, a sync tool opening one connection per folder) pays argon2id
 * once per `ttlMs` instead of ~100 ms of CPU every time. Dovecot's `auth_cache` does the same.
 *
 * Only successes are kept, and never the password: an entry is HMAC-SHA256 under a random key
 * that lives only in this process, over the stored hash and the password. Because the stored
 * hash is part of it, a password change (a new hash) makes old entries useless at once. A wrong
 * password never matches an entry, so guessing always pays the full verify and the throttle.
 */
import {createHmac, randomBytes} from 'node:crypto'

export class VerifiedCache {
  private readonly key = randomBytes(32)
  /** digest → expiry (epoch ms), oldest first */
  private readonly entries = new Map<string, number>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private digest(hash: string, password: string): string {
    return createHmac('sha256', this.key).update(hash).update('\0').update(password).digest('base64')
  }

  has(hash: string, password: string): boolean {
    if (this.ttlMs <= 0) return false
    const d = this.digest(hash, password)
    const expires = this.entries.get(d)
    if (expires === undefined) return false
    if (expires > this.now()) return true
    this.entries.delete(d)
    return false
  }

  /** forgets every entry (the directory changed, perhaps on another node) */
  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }

  add(hash: string, password: string): void {
    if (this.ttlMs <= 0) return
    const d = this.digest(hash, password)
    this.entries.delete(d)
    this.entries.set(d, this.now() + this.ttlMs)
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break
      this.entries.delete(oldest)
    }
  }
}
