/**
 * Microsoft's Autodiscover, the "plain old XML" flavour (POX) that Outlook and Thunderbird POST to
 * `/autodiscover/autodiscover.xml` (on `autodiscover.DOMAIN`, or DOMAIN itself):
 *
 *   <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
 *     <Request><EMailAddress>user@example.com</EMailAddress>
 *       <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
 *     </Request>
 *   </Autodiscover>
 *
 * The request comes from anyone, so it is not handed to an XML parser: a bounded, strict
 * extractor reads the one element needed and refuses a DTD, an entity other than XML's own, and
 * CDATA (no legitimate client sends them; a parser that expands them is how XXE and "billion
 * laughs" happen). The answer has one Protocol per endpoint (MS-OXDSCLI §2.2.4.1.1.2): SSL on
 * for all of them, Encryption SSL for implicit TLS and TLS for STARTTLS, SPA (NTLM) off, the
 * login name the address as sent.
 */
import type {ClientEndpoint, ClientSettings} from './settings.js'
import {xmlDecode, xmlText} from './xml.js'

/** a request is a few hundred bytes; anything past this is not one */
export const MAX_AUTODISCOVER_REQUEST = 16 * 1024

const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006'
const OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'

/** `<EMailAddress>` of a request, or undefined when the body is not a request we read */
export function autodiscoverAddress(body: Buffer): string | undefined {
  if (body.length === 0 || body.length > MAX_AUTODISCOVER_REQUEST) return undefined
  const text = body.toString('utf8').replace(/^\uFEFF/, '')
  // no DOCTYPE, ENTITY, comment or CDATA; processing instructions only as the XML declaration
  if (text.includes('<!') || /<\?(?!xml\s)/i.test(text) || (text.match(/<\?/g)?.length ?? 0) > 1) return undefined
  if (!/^\s*(?:<\?xml\s[^>]*\?>\s*)?<(?:[\w.-]+:)?Autodiscover[\s>]/.test(text)) return undefined
  const elements = [...text.matchAll(/<((?:[\w.-]+:)?)EMailAddress(?:\s[^<>]*)?>([^<]*)<\/\1EMailAddress\s*>/g)]
  if (elements.length !== 1) return undefined
  const address = xmlDecode(elements[0]![2]!)?.trim()
  return address || undefined
}

function protocol(type: 'IMAP' | 'POP3' | 'SMTP', hostname: string, address: string, endpoint: ClientEndpoint): string {
  return [
    '      <Protocol>',
    `        <Type>${type}</Type>`,
    `        <Server>${xmlText(hostname)}</Server>`,
    `        <Port>${endpoint.port}</Port>`,
    `        <LoginName>${xmlText(address)}</LoginName>`,
    '        <SPA>off</SPA>',
    '        <SSL>on</SSL>',
    `        <Encryption>${endpoint.security === 'tls' ? 'SSL' : 'TLS'}</Encryption>`,
    '        <AuthRequired>on</AuthRequired>',
    '      </Protocol>',
  ].join('\n')
}

/** the response for `address` (as the client sent it, normalized) */
export function autodiscoverResponse(address: string, settings: ClientSettings): string {
  const {hostname} = settings
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    `  <Response xmlns="${OUTLOOK_NS}">`,
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...settings.imap.map((e) => protocol('IMAP', hostname, address, e)),
    ...settings.pop3.map((e) => protocol('POP3', hostname, address, e)),
    ...settings.smtp.map((e) => protocol('SMTP', hostname, address, e)),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n')
}
