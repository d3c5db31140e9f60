/** RFC 2231 continuations joined for BODYSTRUCTURE (src/mime/rfc2231.ts), on parameters as header.ts parses them. */
import {describe, expect, it} from 'vitest'
import {parseStructured} from '../../src/mime/header.js'
import {joinContinuations} from '../../src/mime/rfc2231.js'

const joined = (header: string) => joinContinuations(parseStructured(header).params)

describe('joinContinuations', () => {
  it('joins plain segments into the bare name, in order, where segment 0 stood', () => {
    expect(joined('application/x-stuff; a=1; title*1="isn\'t it!"; title*0="This is even more "; b=2')).toEqual({a: '1', title: "This is even more isn't it!", b: '2'})
  })

  it("joins extended segments into name* still encoded (RFC 2231 §4.1's example); plain ones are percent-encoded to match", () => {
    expect(joined("message/external-body; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\""))
      .toEqual({'title*': "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!"})
    expect(joined("attachment; filename*0=\"a b\"; filename*1*=%E2%82%AC")).toEqual({'filename*': "''a%20b%E2%82%AC"})
  })

  it('leaves incomplete or clashing sets, single extended values and plain parameters as given', () => {
    expect(joined('text/plain; name*0="a"; name*2="c"')).toEqual({'name*0': 'a', 'name*2': 'c'})
    expect(joined('text/plain; name*1="b"')).toEqual({'name*1': 'b'})
    expect(joined('text/plain; name="x"; name*0="a"; name*1="b"')).toEqual({name: 'x', 'name*0': 'a', 'name*1': 'b'})
    expect(joined("text/plain; charset=utf-8; name*=utf-8''%E2%82%AC")).toEqual({charset: 'utf-8', 'name*': "utf-8''%E2%82%AC"})
    // names from the message are data, whatever they are called
    expect(joined('text/plain; constructor*0="a"; constructor*1="b"')).toEqual({constructor: 'ab'})
    const proto = joined('text/plain; __proto__*0="a"; __proto__*1="b"')
    expect(Object.hasOwn(proto, '__proto__') && proto['__proto__']).toBe('ab')
    const plain = {charset: 'us-ascii'}
    expect(joinContinuations(plain)).toBe(plain)
  })
})
