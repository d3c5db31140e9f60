/**
 * `store.certs` (../../certs/types.ts) on PostgreSQL: the `certificates` and `acme_accounts`
 * tables. A put or remove of a certificate signals `{kind: 'certificate', name}` in its own
 * transaction (./changes.ts): every node hears it after the commit and serves the new one.
 */
import type pg from 'pg'
import type {AcmeAccount, CertificateStore, StoredCertificate} from '../../certs/types.js'
import {checkStoredCertificate} from '../cert-rules.js'
import {signalledTransaction} from './changes.js'

export const CERTIFICATE_COLUMNS = 'names, cert_pem, key_pem, not_before, not_after, issuer, source, directory, updated_at'

export const certificateFromRow = (row: any): StoredCertificate => ({
  names: row.names,
  certPem: row.cert_pem,
  keyPem: row.key_pem,
  notBefore: Number(row.not_before),
  notAfter: Number(row.not_after),
  issuer: row.issuer,
  source: row.source,
  ...(row.directory !== null ? {directory: row.directory} : {}),
  updatedAt: Number(row.updated_at),
})

export const accountFromRow = (row: any): AcmeAccount => ({
  directory: row.directory,
  keyPem: row.key_pem,
  ...(row.url !== null ? {url: row.url} : {}),
  ...(row.email !== null ? {email: row.email} : {}),
})

export function pgCerts(pool: pg.Pool): CertificateStore {
  return {
    async get(name) {
      const {rows} = await pool.query(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE name = $1`, [name])
      return rows[0] ? certificateFromRow(rows[0]) : undefined
    },
    async list() {
      return (await pool.query(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates ORDER BY name`)).rows.map(certificateFromRow)
    },
    async put(certificate) {
      const c = checkStoredCertificate(certificate)
      const name = c.names[0]!
      await signalledTransaction(pool, async (client, signals) => {
        await client.query(
          `INSERT INTO certificates (name, ${CERTIFICATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (name) DO UPDATE SET names = EXCLUDED.names, cert_pem = EXCLUDED.cert_pem, key_pem = EXCLUDED.key_pem,
             not_before = EXCLUDED.not_before, not_after = EXCLUDED.not_after, issuer = EXCLUDED.issuer, source = EXCLUDED.source,
             directory = EXCLUDED.directory, updated_at = EXCLUDED.updated_at`,
          [name, c.names, c.certPem, c.keyPem, c.notBefore, c.notAfter, c.issuer, c.source, c.directory ?? null, c.updatedAt],
        )
        signals.certificate(name)
      })
    },
    async remove(name) {
      return signalledTransaction(pool, async (client, signals) => {
        const {rowCount} = await client.query('DELETE FROM certificates WHERE name = $1', [name])
        if (rowCount) signals.certificate(name)
        return Boolean(rowCount)
      })
    },
    async account(directory) {
      const {rows} = await pool.query('SELECT directory, key_pem, url, email FROM acme_accounts WHERE directory = $1', [directory])
      return rows[0] ? accountFromRow(rows[0]) : undefined
    },
    async putAccount(a) {
      await pool.query(
        `INSERT INTO acme_accounts (directory, key_pem, url, email) VALUES ($1, $2, $3, $4)
         ON CONFLICT (directory) DO UPDATE SET key_pem = EXCLUDED.key_pem, url = EXCLUDED.url, email = EXCLUDED.email`,
        [a.directory, a.keyPem, a.url ?? null, a.email ?? null],
      )
    },
  }
}
