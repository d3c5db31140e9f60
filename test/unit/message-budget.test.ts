import {describe, expect, it} from 'vitest'
import {MessageBudget, type BudgetHold} from '../../src/smtp/message-budget.js'

/** a hold whose pauses and resumes are recorded */
function holder(budget: MessageBudget, name: string, log: string[]): BudgetHold {
  return budget.hold({pause: () => log.push(`${name} paused`), resume: () => log.push(`${name} resumed`)})
}

describe('MessageBudget', () => {
  it('pauses whoever goes over the budget except the oldest holder, and resumes them as bytes come back', () => {
    const budget = new MessageBudget(100)
    const log: string[] = []
    const a = holder(budget, 'a', log)
    const b = holder(budget, 'b', log)
    const c = holder(budget, 'c', log)
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
    const budget = new MessageBudget(100)
    const log: string[] = []
    const a = holder(budget, 'a', log)
    const b = holder(budget, 'b', log)
    const c = holder(budget, 'c', log)
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
    const budget = new MessageBudget(10)
    const log: string[] = []
    const a = holder(budget, 'a', log)
    const b = holder(budget, 'b', log)
    a.take(20)
    b.take(5)
    b.release() // the connection closed while paused
    a.release()
    expect(log).toEqual(['b paused'])
    expect(budget.bytes).toBe(0)
  })
})
