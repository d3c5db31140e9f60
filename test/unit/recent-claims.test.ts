import {describe, expect, it} from 'vitest'
import {RecentClaims} from '../../src/mailstore/recent-claims.js'

describe('RecentClaims', () => {
  it('gives each message to the first session that claims it', () => {
    const claims = new RecentClaims()
    expect(claims.claim(7, 5)).toBe(1) // UIDs 1..4 are this session's
    expect(claims.claim(7, 5)).toBe(5) // nothing new for the next one
    expect(claims.claim(7, 9)).toBe(5) // 5..8 are new
    expect(claims.claim(7)).toBe(9)
  })

  it('forgets a deleted folder, and keeps at most maxFolders (least recently claimed go first)', () => {
    const claims = new RecentClaims(3)
    for (const id of [1, 2, 3]) claims.claim(id, 10)
    claims.claim(1, 20) // 1 is now the most recent
    claims.claim(4, 10) // over the cap: 2 goes
    expect(claims.size).toBe(3)
    expect(claims.claim(2)).toBe(1) // forgotten: all Recent again, as after a restart
    expect(claims.claim(1)).toBe(20)
    claims.forget(1)
    expect(claims.claim(1)).toBe(1)
    for (let id = 100; id < 1100; id++) claims.claim(id, 2)
    expect(claims.size).toBe(3)
  })
})
