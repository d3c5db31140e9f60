/** Links and one-time codes dug out of mails for the matcher's `email` object (src/matcher/extract.ts). */
import {describe, expect, it} from 'vitest'
import {extractCodes, extractLinks, htmlToText} from '../../src/matcher/extract.js'

describe('extractLinks', () => {
  it('finds http and https URLs in plain text and trims trailing punctuation', () => {
    const text = [
      'Reset your password: https://app.test/reset?token=abc123.',
      'Or see (https://app.test/help), then https://app.test/faq!',
      'Plain http too: http://legacy.test/a/b;',
      'And <https://app.test/angle> as well.',
    ].join('\n')
    expect(extractLinks(text, '')).toEqual([
      'https://app.test/reset?token=abc123',
      'https://app.test/help',
      'https://app.test/faq',
      'http://legacy.test/a/b',
      'https://app.test/angle',
    ])
  })

  it('keeps punctuation that is inside the URL (query, path dots)', () => {
    expect(extractLinks('go to https://app.test/v1.2/file.tar.gz?a=1&b=2#frag now', '')).toEqual(['https://app.test/v1.2/file.tar.gz?a=1&b=2#frag'])
  })

  it('reads href attributes (double, single and unquoted) and decodes &amp;', () => {
    const html = [
      '<a href="https://app.test/confirm?u=1&amp;t=XYZ">Confirm</a>',
      "<a href='https://app.test/single'>single</a>",
      '<a href=https://app.test/bare>bare</a>',
      '<a HREF = "http://app.test/upper">upper</a>',
    ].join('\n')
    expect(extractLinks('', html)).toEqual(['https://app.test/confirm?u=1&t=XYZ', 'https://app.test/single', 'https://app.test/bare', 'http://app.test/upper'])
  })

  it('ignores non-http hrefs: mailto, tel, javascript, relative and fragment links', () => {
    const html =
      '<a href="mailto:help@app.test">mail</a><a href="tel:+15550100">call</a><a href="javascript:void(0)">js</a>' +
      '<a href="/relative/path">rel</a><a href="#top">top</a><a href="ftp://files.test/x">ftp</a><a href="https://app.test/only">only</a>'
    expect(extractLinks('', html)).toEqual(['https://app.test/only'])
  })

  it('dedupes a link found in the text, the href and the visible HTML text', () => {
    const text = 'Click https://app.test/reset?id=7 to continue.'
    const html = '<p>Click <a href="https://app.test/reset?id=7">https://app.test/reset?id=7</a> to continue.</p>'
    expect(extractLinks(text, html)).toEqual(['https://app.test/reset?id=7'])
  })

  it('finds URLs written out in the visible HTML text, entities decoded', () => {
    expect(extractLinks('', '<p>Open https://app.test/x?a=1&amp;b=2 in a browser.</p>')).toEqual(['https://app.test/x?a=1&b=2'])
  })

  it('an angle-bracketed URL in HTML text (&lt;…&gt;) yields the URL without the entity', () => {
    // `<https://…>` is the usual way to write a bare URL; in HTML it is escaped as &lt;…&gt;.
    expect(extractLinks('', '<p>Reset: &lt;https://app.test/reset&gt;</p>')).toEqual(['https://app.test/reset'])
  })

  it('returns [] when there is nothing', () => {
    expect(extractLinks('', '')).toEqual([])
    expect(extractLinks('no links here, just www.example.test', '<b>none</b>')).toEqual([])
  })
})

describe('extractCodes', () => {
  it('finds a 6-digit code near "code"', () => {
    expect(extractCodes('Hello Bob,\nyour login code is 482913.\nThanks')).toEqual(['482913'])
  })

  it('finds a 6-digit code near "verification"', () => {
    expect(extractCodes('Verification: 739201')).toEqual(['739201'])
    expect(extractCodes('Enter 551234 to finish your verification')).toEqual(['551234'])
  })

  it('finds an alphanumeric token such as AB12CD near "token"', () => {
    expect(extractCodes('Your access token: AB12CD')).toEqual(['AB12CD'])
  })

  it('lists digit codes before letter-and-digit tokens', () => {
    expect(extractCodes('token X9Y8Z7 and code 123456')).toEqual(['123456', 'X9Y8Z7'])
  })

  it('does not return numbers far from any keyword', () => {
    const far = 'x'.repeat(200)
    expect(extractCodes(`Your code is below.${far} Order 99887766 ships tomorrow.`)).toEqual([])
    expect(extractCodes(`Order 445566 was placed. ${far} Use the code from the app.`)).toEqual([])
  })

  it('returns [] when there is no keyword at all', () => {
    expect(extractCodes('Order 123456 shipped, invoice AB12CD, call 555-0100')).toEqual([])
    expect(extractCodes('')).toEqual([])
  })

  it('ignores words without digits and numbers shorter than 4 or longer than 8 digits', () => {
    expect(extractCodes('your code: 123 or 123456789 or ABCDEF')).toEqual([])
  })

  it('dedupes a code that appears twice', () => {
    expect(extractCodes('Code 246810. Again, the code is 246810.')).toEqual(['246810'])
  })
})

describe('htmlToText', () => {
  it('removes tags, script and style blocks', () => {
    const text = htmlToText('<html><head><style>p{color:red}</style><script>var code = 999999</script></head><body><p>Hello <b>Bob</b></p></body></html>')
    expect(text).not.toMatch(/[<>]/)
    expect(text).not.toContain('color')
    expect(text).not.toContain('999999')
    expect(text.replace(/\s+/g, ' ').trim()).toBe('Hello Bob')
  })

  it('decodes &nbsp;, &amp; and numeric entities', () => {
    expect(htmlToText('a&nbsp;b &amp; c &#65;&#x42;')).toBe('a b & c AB')
  })

  it('decodes each entity once: &amp;#60; is the text "&#60;", not "<"', () => {
    expect(htmlToText('write &amp;#60; for a less-than sign')).toBe('write &#60; for a less-than sign')
  })

  it('decodes the common named entities &lt; &gt; &quot;', () => {
    expect(htmlToText('if a &lt; b &amp;&amp; c &gt; d say &quot;hi&quot;')).toBe('if a < b && c > d say "hi"')
  })
})
