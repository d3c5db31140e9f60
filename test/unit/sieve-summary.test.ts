/**
 * What `user show`, `user list` and the dashboard say of a user's Sieve filtering
 * (src/sieve-scripts/summary.ts): the active script's name, and vacation on when it requires the
 * vacation extension, read from its leading `require`s alone.
 */
import {describe, expect, it} from 'vitest'
import {leadingRequires, sieveCell, sieveSummaryOf} from '../../src/sieve-scripts/summary.js'

const script = (content: string) => ({name: 's', content, active: true})

describe('the Sieve summary of a user', () => {
  it('reads the leading requires, strings and lists, past comments; not a require after other commands', () => {
    expect(leadingRequires('# hi\nrequire "fileinto";\n/* c */ require ["vacation", "date"];\nkeep;\nrequire "body";')).toEqual(['fileinto', 'vacation', 'date'])
    expect(leadingRequires('keep;')).toEqual([])
    expect(leadingRequires('require ["a;b", "vacation"]; keep;')).toEqual(['a;b', 'vacation'])
    expect(leadingRequires('require "unterminated')).toEqual([])
  })

  it('vacation is on when the active script requires vacation or vacation-seconds; a mention in a comment or string is not', () => {
    expect(sieveSummaryOf(undefined)).toEqual({script: null, vacation: false})
    expect(sieveSummaryOf(script('require "vacation";\nvacation "away";'))).toEqual({script: 's', vacation: true})
    expect(sieveSummaryOf(script('require ["vacation-seconds"];'))).toEqual({script: 's', vacation: true})
    expect(sieveSummaryOf(script('# vacation\nrequire "fileinto";\nif header :is "subject" "vacation" { keep; }'))).toEqual({script: 's', vacation: false})
  })

  it('as a cell: the name, with "(vacation)" when on; nothing without a script', () => {
    expect(sieveCell({script: 'Filters', vacation: false})).toBe('Filters')
    expect(sieveCell({script: 'vacation', vacation: true})).toBe('vacation (vacation)')
    expect(sieveCell({script: null, vacation: false})).toBe('')
    expect(sieveCell(undefined)).toBe('')
  })
})
