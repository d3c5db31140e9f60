/**
 * SASL PLAIN (RFC 4616) as the POP3 and ManageSieve front-ends take it: `authzid NUL authcid NUL
 * passwd` in base64. Acting for someone else is not supported: the authzid must be empty or the
 * user name itself.
 */
export type SaslPlain = {ok: true; authcid: string; password: string} | {ok: false; reason: string}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export function decodeSaslPlain(b64: string): SaslPlain {
  if (!BASE64.test(b64)) return {ok: false, reason: 'invalid base64'}
  const parts = Buffer.from(b64, 'base64').toString('utf8').split('\0')
  if (parts.length !== 3 || !parts[1]) return {ok: false, reason: 'malformed PLAIN response'}
  const [authzid, authcid, password] = parts as [string, string, string]
  if (authzid && authzid.trim().toLowerCase() !== authcid.trim().toLowerCase()) return {ok: false, reason: 'authorization identity must be empty or the user name'}
  return {ok: true, authcid, password}
}
