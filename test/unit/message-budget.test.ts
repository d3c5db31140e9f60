import {describe, expect, it} from 'vitest'
import {MessageBudget, type BudgetHold} from '../../src/smtp/message-budget.js'

/** a budget and holds named a, b, c … in the order given, whose pauses and resumes are logged */
function setup(limit: number, count: number): {budget: MessageBudget; log: string[]; holds: BudgetHold[]} {
  const budget = new MessageBudget(limit)
  const log: string[] = []
  const holds = Array.from({length: count}, (_, i) => {
    const name = String.fromCharCode(97 + i)
    return budget.hold({pause: () => log.push(`${name} paused`), resume: () => log.push(`${name} resumed`)})
  })
  return {budget, log, holds}
}

describe('MessageBudget', () => {
  it('pauses whoever goes over the budget except the oldest holder, and resumes them as bytes come back', () => {
    const {budget, log, holds: [a, b, c]} = setup(100, 3)
    a.take(60)
    b.take(30)
    c.take(20) // 110 > 100: c is not the oldest
    expect(log).toEqual(['c paused'])
    a.take(500) // the oldest runs over without pausing
    expect(log).toEqual(['c paused'])
    expect(budget.bytes).toBe(610)
    a.release() // 50 left: under the budget, c goes on
    expect(log).toEqual(['c paused', 'c resumed'])
    expect(budget.bytes).toBe(50)
    a.release() // idempotent
    expect(budget.bytes).toBe(50)
  })

  it('resumes a paused holder as soon as it becomes the oldest, even over the budget (no deadlock)', () => {
    const {budget, log, holds: [a, b, c]} = setup(100, 3)
    a.take(50)
    b.take(60) // paused
    c.take(70) // paused
    expect(log).toEqual(['b paused', 'c paused'])
    a.release() // 130 > 100, but b is now the oldest
    expect(log).toEqual(['b paused', 'c paused', 'b resumed'])
    b.release()
    expect(log.at(-1)).toBe('c resumed')
    c.release()
    expect(budget.bytes).toBe(0)
  })

  it('forgets a paused holder whose session went away', () => {
    const {budget, log, holds: [a, b]} = setup(10, 2)
    a.take(20)
    b.take(5)
    b.release() // the connection closed while paused
    a.release()
    expect(log).toEqual(['b paused'])
    expect(budget.bytes).toBe(0)
  })
})
