/**
 * The HTTP side's bounds (config `http`, src/config-schema.ts): everything a client controls
 * (how much it sends, how slowly, how many connections it holds) has one.
 */
export interface HttpLimits {
  /** a request body larger than this is answered 413 and the connection closed */
  maxRequestBytes: number
  /** request line and headers together; more is answered 431 */
  maxHeaderBytes: number
  /** from the first byte of a request to its whole body; then 408 */
  requestTimeoutMs: number
  /** an idle kept-alive connection is closed after this */
  keepAliveTimeoutMs: number
  /** connections per listener (HTTP, HTTPS); more are refused at accept */
  maxConnections: number
  /** connections from one address, HTTP and HTTPS together; more are refused at accept */
  maxConnectionsPerIp: number
  /** the ClientHello peek and TLS handshake of an HTTPS connection must finish within this */
  handshakeTimeoutMs: number
  /** on stop, how long a request being answered may take */
  closeTimeoutMs: number
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxRequestBytes: 64 * 1024,
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 200,
  maxConnectionsPerIp: 20,
  handshakeTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
}
