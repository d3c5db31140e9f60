/**
 * `store copy` on PostgreSQL (see ../transfer.ts).
 *
 * Export: one READ ONLY, REPEATABLE READ transaction on one connection (one snapshot for the
 * whole stream, whatever other sessions commit meanwhile), each table read in keyset pages in key
 * order ("C" collation: byte order, as LMDB's keys), blob bytes one blob per query. The session's
 * idle-in-transaction timeout is lifted for it: the snapshot waits while the destination commits,
 * and holds no row locks.
 *
 * Import: batches, each one transaction of multi-row INSERTs, in the stream's order (which is
 * the foreign keys' order). Folders keep their ids (the identity column takes explicit values).
 * Last, one transaction sets what a running node reads: `lastUidValidity` (never backwards), the
 * folder id sequence past every id, `createdAt`, and the directory version that every directory
 * row was written with, so a node's directory snapshot (./directory-snapshot.ts) loads them; it
 * signals the directory and capture rules changed.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import type {BlobInfoRecord, DeliveryAttemptRecord} from '../records.js'
import {
  commitBatches,
  KIND_NAMES,
  type Kind,
  missingBytesError,
  notEmptyError,
  type PlacesOf,
  shape,
  totalsOf,
  type StoreCounters,
  type TransferRecord,
  type TransferSource,
  type TransferTarget,
  type TransferValues,
} from '../transfer.js'
import {ruleFromRow} from './capture.js'
import {accountFromRow, CERTIFICATE_COLUMNS, certificateFromRow} from './certs.js'
import {signalledTransaction} from './changes.js'
import {transaction} from './connect.js'
import {keyFromRow} from './directory.js'
import {aliasFromRow, DIRECTORY_VERSION_KEY, directoryVersion, USER_COLUMNS, userFromRow} from './directory-snapshot.js'
import {folderFromRow} from './folders.js'
import {entryFromRow} from './queue.js'

/** the tables holding each kind of record (the first one is counted) */
const TABLES: PlacesOf<string> = {
  domain: ['domains'],
  dkimKey: ['dkim_keys'],
  user: ['users'],
  alias: ['aliases'],
  folder: ['folders'],
  subscription: ['subscriptions'],
  blob: ['blob_info', 'blobs', 'blob_text'],
  message: ['messages'],
  queueEntry: ['queue'],
  deliveryAttempt: ['delivery_log'],
  captureRule: ['capture_rules'],
  familiarAddress: ['familiar_addresses'],
  sieveScript: ['sieve_scripts'],
  secret: ['settings'],
  certificate: ['certificates'],
  acmeAccount: ['acme_accounts'],
}

/** rows per page of an export query (blob bytes are fetched one blob at a time) */
const PAGE_ROWS = 500

export interface Paged {
  columns: string
  from: string
  /** the key columns: the order, and where the next page starts */
  key: string[]
}

/** Every row of a table in key order, a page at a time (keyset: each page starts after the last key of the one before). */
export async function* pages(client: pg.ClientBase, t: Paged): AsyncGenerator<any> {
  let after: unknown[] | undefined
  const order = t.key.join(', ')
  for (;;) {
    const where = after ? `WHERE (${order}) > (${t.key.map((_, i) => `$${i + 1}`).join(', ')})` : ''
    const {rows} = await client.query(`SELECT ${t.columns} FROM ${t.from} ${where} ORDER BY ${order} LIMIT ${PAGE_ROWS}`, after ?? [])
    yield* rows
    if (rows.length < PAGE_ROWS) return
    const last = rows[rows.length - 1]
    after = t.key.map((k) => last[k.replace(/^\w+\./, '')])
  }
}

const FOLDER_COLUMNS = 'id, user_address, name, uid_validity, uid_next, highest_modseq, subscribed, special_use, noselect, messages, unseen, size, created_at'
const QUEUE_COLUMNS = 'id, from_address, domain, recipients, blob_id, priority, state, attempts, created_at, due_at, last_error'
const BLOB_INFO_COLUMNS = 'blob_id, refs, size, created_at, mail_from, rcpt_to, crlf_size, envelope, structure, summary'

const blobInfoFromRow = (row: any): BlobInfoRecord =>
  shape.blobInfo({
    refs: row.refs,
    size: row.size,
    createdAt: row.created_at,
    mailFrom: row.mail_from,
    rcptTo: row.rcpt_to,
    crlfSize: row.crlf_size,
    envelope: row.envelope,
    structure: row.structure,
    summary: row.summary,
  })

const attemptFromRow = (row: any): DeliveryAttemptRecord =>
  shape.deliveryAttempt({
    queueId: row.queue_id,
    attempt: row.attempt,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    host: row.host,
    result: row.result,
    transcript: row.transcript,
    tls: row.tls,
  })

/** the store's counters as `client` sees them; the folder id counter is the sequence's, never below an id in use */
async function countersOf(client: pg.ClientBase): Promise<StoreCounters> {
  const {rows} = await client.query(
    `SELECT (SELECT value FROM mailbox_meta WHERE key = 'lastUidValidity') AS uid_validity,
            (SELECT value FROM mailbox_meta WHERE key = 'createdAt') AS created_at,
            greatest(coalesce(pg_sequence_last_value(pg_get_serial_sequence('folders', 'id')::regclass), 0),
                     coalesce((SELECT max(id) FROM folders), 0)) AS last_folder_id`,
  )
  return {lastUidValidity: rows[0].uid_validity ?? 0, lastFolderId: rows[0].last_folder_id, createdAt: rows[0].created_at ?? 0}
}

/**
 * One READ ONLY, REPEATABLE READ transaction on a connection of its own (one snapshot, whatever
 * other sessions commit meanwhile, holding no row locks), until `close()`; its idle timeout lifted,
 * as its reader may wait between queries. `store copy`'s export and `verify` read through it.
 */
export async function openSnapshot(pool: pg.Pool): Promise<{client: pg.PoolClient; close(): Promise<void>}> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    await client.query("SET LOCAL idle_in_transaction_session_timeout = '0'")
  } catch (err) {
    client.release(err as Error)
    throw err
  }
  let closed = false
  return {
    client,
    async close() {
      if (closed) return
      closed = true
      let broken: Error | undefined
      try {
        await client.query('COMMIT')
      } catch (err) {
        broken = err as Error
      }
      client.release(broken)
    },
  }
}

/** A snapshot of the store for export, on a connection of its own until `close()`. */
export async function pgSource(pool: pg.Pool, where: string): Promise<TransferSource> {
  const {client, close} = await openSnapshot(pool)
  return {
    where,
    totals: () =>
      totalsOf(
        TABLES,
        async (table) => (await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n,
        async () => (await client.query('SELECT coalesce(sum(size), 0)::bigint AS bytes FROM blob_info')).rows[0].bytes,
      ),

    async *records(): AsyncGenerator<TransferRecord> {
      const now = Date.now()
      yield {kind: 'meta', value: await countersOf(client)}
      for await (const row of pages(client, {columns: 'name, created_at', from: 'domains', key: ['name']})) {
        yield {kind: 'domain', value: shape.domain({name: row.name, createdAt: row.created_at})}
      }
      const keyColumns = 'domain, selector, algorithm, private_key, public_key, state, created_at, retired_at'
      for await (const row of pages(client, {columns: keyColumns, from: 'dkim_keys', key: ['domain', 'selector']})) {
        yield {kind: 'dkimKey', value: shape.dkimKey(keyFromRow(row))}
      }
      for await (const row of pages(client, {columns: USER_COLUMNS, from: 'users', key: ['address']})) yield {kind: 'user', value: shape.user(userFromRow(row))}
      for await (const row of pages(client, {columns: 'alias, targets, created_at', from: 'aliases', key: ['alias']})) {
        yield {kind: 'alias', value: shape.alias(aliasFromRow(row))}
      }
      for await (const row of pages(client, {columns: FOLDER_COLUMNS, from: 'folders', key: ['user_address', 'name']})) {
        yield {kind: 'folder', value: shape.folder(folderFromRow(row))}
      }
      for await (const row of pages(client, {columns: 'user_address, name', from: 'subscriptions', key: ['user_address', 'name']})) {
        yield {kind: 'subscription', value: {user: row.user_address, name: row.name}}
      }
      for await (const row of pages(client, {columns: BLOB_INFO_COLUMNS, from: 'blob_info', key: ['blob_id']})) {
        const {rows} = await client.query('SELECT b.bytes, t.text FROM blobs b LEFT JOIN blob_text t ON t.blob_id = b.id WHERE b.id = $1', [row.blob_id])
        if (!rows[0]) throw missingBytesError(where, row.blob_id)
        const text: string | null = rows[0].text
        yield {kind: 'blob', value: {id: row.blob_id, bytes: rows[0].bytes, info: blobInfoFromRow(row), ...(text !== null ? {text} : {})}}
      }
      const messageColumns = 'folder_id, uid, blob_id, flags, internal_date, size, modseq'
      for await (const row of pages(client, {columns: messageColumns, from: 'messages', key: ['folder_id', 'uid']})) {
        const record = {uid: row.uid, blobId: row.blob_id, flags: row.flags, internalDate: row.internal_date, size: row.size, modseq: row.modseq}
        yield {kind: 'message', value: shape.message(row.folder_id, record)}
      }
      for await (const row of pages(client, {columns: QUEUE_COLUMNS, from: 'queue', key: ['id']})) {
        yield {kind: 'queueEntry', value: shape.queueEntry(entryFromRow(row), now)}
      }
      const logColumns = 'queue_id, attempt, started_at, ended_at, host, result, transcript, tls'
      for await (const row of pages(client, {columns: logColumns, from: 'delivery_log', key: ['queue_id', 'attempt']})) {
        yield {kind: 'deliveryAttempt', value: attemptFromRow(row)}
      }
      const ruleColumns = 'id, to_pattern, reply, stage, remaining, created_at'
      for await (const row of pages(client, {columns: ruleColumns, from: 'capture_rules', key: ['id']})) {
        yield {kind: 'captureRule', value: shape.captureRule(ruleFromRow(row))}
      }
      for await (const row of pages(client, {columns: 'user_address, network, last_login', from: 'familiar_addresses', key: ['user_address', 'network']})) {
        yield {kind: 'familiarAddress', value: {user: row.user_address, network: row.network, lastLogin: row.last_login}}
      }
      for await (const row of pages(client, {columns: 'user_address, name, content, active, updated_at', from: 'sieve_scripts', key: ['user_address', 'name']})) {
        const value = {user: row.user_address, name: row.name, content: row.content, active: row.active, updatedAt: Number(row.updated_at)}
        yield {kind: 'sieveScript', value: shape.sieveScript(value)}
      }
      for await (const row of pages(client, {columns: 'name, value', from: 'settings', key: ['name']})) {
        if (row.name.startsWith('secret/')) yield {kind: 'secret', value: {name: row.name.slice('secret/'.length), value: row.value.toString('base64')}}
      }
      for await (const row of pages(client, {columns: `name, ${CERTIFICATE_COLUMNS}`, from: 'certificates', key: ['name']})) {
        yield {kind: 'certificate', value: shape.certificate(certificateFromRow(row))}
      }
      for await (const row of pages(client, {columns: 'directory, key_pem, url, email', from: 'acme_accounts', key: ['directory']})) {
        yield {kind: 'acmeAccount', value: shape.acmeAccount(accountFromRow(row))}
      }
    },

    close,
  }
}

/** bind parameters per statement, below PostgreSQL's 65,535 */
const MAX_PARAMS = 30_000

/** `INSERT INTO table (columns) VALUES (…), (…)`, as few statements as the parameter limit allows */
async function insertRows(client: pg.ClientBase, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length))
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement)
    const values = chunk.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ')
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, chunk.flat())
  }
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value))
const PRIORITY = {high: 0, default: 1, bulk: 2} as const

/** Writes one run of records of one kind; directory rows carry `version`. */
async function insertKind<K extends Kind>(client: pg.ClientBase, kind: K, values: TransferValues[K][], version: number): Promise<void> {
  const v = values as any[]
  switch (kind) {
    case 'meta':
      return // the counters are set after everything else
    case 'domain':
      return insertRows(client, 'domains', ['name', 'created_at', 'version'], v.map((d) => [d.name, d.createdAt, version]))
    case 'dkimKey':
      return insertRows(
        client,
        'dkim_keys',
        ['domain', 'selector', 'algorithm', 'private_key', 'public_key', 'state', 'created_at', 'retired_at'],
        v.map((k) => [k.domain, k.selector, k.algorithm, k.privateKey, k.publicKey, k.state, k.createdAt, k.retiredAt ?? null]),
      )
    case 'user':
      return insertRows(
        client,
        'users',
        ['address', 'password_hash', 'quota', 'max_messages', 'disabled', 'capture', 'created_at', 'updated_at', 'version'],
        v.map((u) => [u.address, u.passwordHash, u.quota, u.maxMessages ?? 0, u.disabled, u.capture ?? false, u.createdAt, u.updatedAt, version]),
      )
    case 'alias':
      return insertRows(client, 'aliases', ['alias', 'targets', 'created_at', 'version'], v.map((a) => [a.alias, a.targets, a.createdAt, version]))
    case 'folder':
      // no tombstones come along: a client that knew an older MODSEQ of the folder resyncs it whole
      return insertRows(
        client,
        'folders',
        ['id', 'user_address', 'name', 'uid_validity', 'uid_next', 'highest_modseq', 'subscribed', 'special_use', 'noselect', 'messages', 'unseen', 'size', 'created_at', 'vanished_floor'],
        v.map((f) => [f.id, f.user, f.name, f.uidValidity, f.uidNext, f.highestModseq, f.subscribed, f.specialUse ?? null, f.noselect ?? false, f.messages, f.unseen, f.size, f.createdAt, f.highestModseq]),
      )
    case 'subscription':
      return insertRows(client, 'subscriptions', ['user_address', 'name'], v.map((s) => [s.user, s.name]))
    case 'blob': {
      await insertRows(client, 'blobs', ['id', 'bytes'], v.map((b) => [b.id, b.bytes]))
      await insertRows(
        client,
        'blob_info',
        ['blob_id', 'refs', 'size', 'created_at', 'mail_from', 'rcpt_to', 'crlf_size', 'envelope', 'structure', 'summary'],
        v.map(({id, info: i}) => [id, i.refs, i.size, i.createdAt, i.mailFrom ?? null, i.rcptTo ?? null, i.crlfSize ?? null, json(i.envelope), json(i.structure), json(i.summary)]),
      )
      const texts = v.filter((b) => b.text !== undefined)
      if (texts.length) await insertRows(client, 'blob_text', ['blob_id', 'text'], texts.map((b) => [b.id, b.text]))
      return
    }
    case 'message':
      return insertRows(
        client,
        'messages',
        ['folder_id', 'uid', 'blob_id', 'flags', 'internal_date', 'size', 'modseq'],
        v.map((m) => [m.folderId, m.uid, m.blobId, m.flags, m.internalDate, m.size, m.modseq]),
      )
    case 'queueEntry':
      return insertRows(
        client,
        'queue',
        ['id', 'from_address', 'domain', 'recipients', 'blob_id', 'priority', 'state', 'attempts', 'created_at', 'due_at', 'last_error'],
        v.map((e) => [e.id, e.from, e.domain, json(e.recipients), e.blobId, PRIORITY[e.priority as keyof typeof PRIORITY], e.state, e.attempts, e.createdAt, e.nextAttemptAt, e.lastError ?? null]),
      )
    case 'deliveryAttempt':
      return insertRows(
        client,
        'delivery_log',
        ['queue_id', 'attempt', 'started_at', 'ended_at', 'host', 'result', 'transcript', 'tls'],
        v.map((a) => [a.queueId, a.attempt, a.startedAt, a.endedAt, a.host, a.result, json(a.transcript), json(a.tls)]),
      )
    case 'captureRule':
      return insertRows(
        client,
        'capture_rules',
        ['id', 'to_pattern', 'reply', 'stage', 'remaining', 'created_at'],
        v.map((r) => [r.id, r.to, r.reply, r.stage, r.remaining ?? null, r.createdAt]),
      )
    case 'familiarAddress':
      return insertRows(client, 'familiar_addresses', ['user_address', 'network', 'last_login'], v.map((f) => [f.user, f.network, f.lastLogin]))
    case 'sieveScript':
      return insertRows(client, 'sieve_scripts', ['user_address', 'name', 'content', 'active', 'updated_at'], v.map((s) => [s.user, s.name, s.content, s.active, s.updatedAt]))
    case 'secret':
      return insertRows(client, 'settings', ['name', 'value', 'created_at'], v.map((x) => [`secret/${x.name}`, Buffer.from(x.value, 'base64'), Date.now()]))
    case 'certificate':
      return insertRows(
        client,
        'certificates',
        ['name', ...CERTIFICATE_COLUMNS.split(', ')],
        v.map((c) => [c.names[0], c.names, c.certPem, c.keyPem, c.notBefore, c.notAfter, c.issuer, c.source, c.directory ?? null, c.updatedAt]),
      )
    case 'acmeAccount':
      return insertRows(client, 'acme_accounts', ['directory', 'key_pem', 'url', 'email'], v.map((a) => [a.directory, a.keyPem, a.url ?? null, a.email ?? null]))
  }
}

/** the batch's records as runs of one kind each, in stream order */
function runs(batch: readonly TransferRecord[]): {kind: Kind; values: TransferValues[Kind][]}[] {
  const out: {kind: Kind; values: TransferValues[Kind][]}[] = []
  for (const r of batch) {
    const last = out[out.length - 1]
    if (last?.kind === r.kind) last.values.push(r.value)
    else out.push({kind: r.kind, values: [r.value]})
  }
  return out
}

/** A PostgreSQL store (migrated: ./open.ts) as the destination of a copy. */
export function pgTarget(pool: pg.Pool, where: string): TransferTarget {
  const assertEmpty = async () => {
    for (const [kind, tables] of Object.entries(TABLES) as [Kind, string[]][]) {
      for (const table of tables) {
        const {rows} = await pool.query(`SELECT EXISTS (SELECT 1 FROM ${table}) AS taken`)
        if (rows[0].taken) throw notEmptyError(where, kind)
      }
    }
  }
  return {
    where,
    assertEmpty,
    async write(records, committed) {
      await assertEmpty()
      // every directory row gets the version the last step sets: nodes load them as one change
      const version = (await directoryVersion(pool)) + 1
      const commit = async (batch: TransferRecord[]) => {
        let writing: Kind = batch[0]!.kind
        try {
          await transaction(pool, async (client) => {
            for (const run of runs(batch)) {
              writing = run.kind
              await insertKind(client, run.kind, run.values, version)
            }
          })
        } catch (err) {
          if (err instanceof MailboxError) throw err
          throw new MailboxError('invalid', `cannot write ${KIND_NAMES[writing]} to ${where}: ${(err as Error).message}`)
        }
      }
      const counters = await commitBatches(records, commit, committed)
      await signalledTransaction(pool, async (client, signals) => {
        await client.query('INSERT INTO mailbox_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = greatest(mailbox_meta.value, EXCLUDED.value)', [
          DIRECTORY_VERSION_KEY,
          version,
        ])
        signals.directory(version)
        signals.capture()
        if (!counters) return
        await client.query("UPDATE mailbox_meta SET value = greatest(value, $1) WHERE key = 'lastUidValidity'", [counters.lastUidValidity])
        await client.query("UPDATE mailbox_meta SET value = $1 WHERE key = 'createdAt'", [counters.createdAt])
        // the next folder made here gets an id past every id the source ever gave out
        await client.query(
          `SELECT setval(pg_get_serial_sequence('folders', 'id'), greatest($1::bigint, coalesce((SELECT max(id) FROM folders), 0), 1),
                         greatest($1::bigint, coalesce((SELECT max(id) FROM folders), 0)) > 0)`,
          [counters.lastFolderId],
        )
      })
    },
  }
}
