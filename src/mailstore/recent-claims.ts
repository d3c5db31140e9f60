/**
 * `\Recent` (RFC 3501 §2.3.2.2) belongs to the first session that sees a message: per folder id,
 * the UID from which messages are still `\Recent`. Kept in memory only (after a restart every
 * message is `\Recent` once), forgotten with the folder, and capped, since clients create folders:
 * beyond the cap the least recently claimed folder is forgotten, and its messages are `\Recent`
 * once more for the next session — the same as after a restart.
 */
export const MAX_RECENT_FOLDERS = 100_000

export class RecentClaims {
  /** folder id → first recent UID, least recently claimed first */
  private readonly firstRecent = new Map<number, number>()

  constructor(private readonly maxFolders = MAX_RECENT_FOLDERS) {}

  get size(): number {
    return this.firstRecent.size
  }

  /** the first UID still `\Recent` for this session; the messages below `uidNext` are this session's from now on */
  claim(mailboxId: number, uidNext?: number): number {
    const first = this.firstRecent.get(mailboxId) ?? 1
    if (uidNext !== undefined && uidNext > first) {
      this.firstRecent.delete(mailboxId)
      this.firstRecent.set(mailboxId, uidNext)
      if (this.firstRecent.size > this.maxFolders) this.firstRecent.delete(this.firstRecent.keys().next().value!)
    }
    return first
  }

  forget(mailboxId: number): void {
    this.firstRecent.delete(mailboxId)
  }
}
