/**
 * Schema version check and migrations of a PostgreSQL store, run at every open.
 *
 * `mailbox_meta['schemaVersion']` says which layout the database has (no `mailbox_meta` table:
 * an empty database, version 0). A database written by a newer mailbox is refused, naming both
 * versions; an older one is brought forward by MIGRATIONS, each in a transaction of its own, so a
 * crash mid-migration leaves the previous version intact. Several nodes may start at once: each
 * migration step runs under a transaction-scoped advisory lock and re-reads the version under
 * it, so exactly one node applies a step and the others see it done.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import {transaction} from './connect.js'
import {MIGRATIONS} from './migrations.js'

export const PG_SCHEMA_VERSION = MIGRATIONS.length

/** the advisory lock key of migrations: any fixed bigint; this one spells "mbx-mig" in ASCII */
export const MIGRATION_LOCK = 0x6d62782d6d6967n

/** the schema version of the database `client` is connected to (0: none of our tables yet) */
export async function schemaVersionOf(client: pg.ClientBase): Promise<number> {
  const {rows} = await client.query("SELECT to_regclass('mailbox_meta') IS NOT NULL AS present")
  if (!rows[0].present) return 0
  const version = await client.query("SELECT value FROM mailbox_meta WHERE key = 'schemaVersion'")
  return version.rows[0]?.value ?? 0
}

function newerError(where: string, found: number, known: number): MailboxError {
  return new MailboxError('schema', `the PostgreSQL store ${where} has schema version ${found}, newer than this mailbox understands (${known}); upgrade mailbox`)
}

/**
 * Brings the database up to `PG_SCHEMA_VERSION` (or to `target`, for tests of the steps), or
 * refuses it when it is newer. Returns the version found before and the one left.
 */
export async function migrate(pool: pg.Pool, where: string, migrations: readonly string[] = MIGRATIONS): Promise<{from: number; to: number}> {
  const known = migrations.length
  let from: number | undefined
  for (;;) {
    const step = await transaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()])
      const version = await schemaVersionOf(client)
      from ??= version
      if (version > known) throw newerError(where, version, known)
      if (version === known) return undefined
      await client.query(migrations[version]!)
      await client.query("INSERT INTO mailbox_meta (key, value) VALUES ('schemaVersion', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [version + 1])
      return version + 1
    })
    if (step === undefined) return {from: from!, to: known}
  }
}
