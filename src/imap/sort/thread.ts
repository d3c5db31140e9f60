/**
 * THREAD's two algorithms of RFC 5256 §3, ORDEREDSUBJECT and REFERENCES, and the thread list
 * they answer with (`(2)(3 6 (4 23)(44 7 96))`). Threads can be as deep as a folder is big (a
 * reply chain), so nothing here recurses: every walk keeps its own stack.
 */
import type {Sortable} from './order.js'

/** shared by every container without children (most of them): one array less per message */
const NO_CHILDREN: Container[] = []

/** a node of the thread tree; without a message it is a dummy (a message referred to but not there) */
export class Container {
  parent: Container | undefined = undefined
  /** NO_CHILDREN until the first child: never push to it, use link() */
  children: Container[] = NO_CHILDREN
  constructor(public message: Sortable | undefined) {}
}

const newContainer = (message?: Sortable): Container => new Container(message)

/** the message a container is dated by: its own, or a dummy's first child's */
function dated(c: Container): Sortable | undefined {
  return c.message ?? c.children[0]?.message
}

/** RFC 5256 §2.2: by sent date, ties by sequence number; containers without a date sort first */
function bySentDate(a: Container, b: Container): number {
  const x = dated(a)
  const y = dated(b)
  if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0)
  return x.date - y.date || x.seq - y.seq
}

/**
 * ORDEREDSUBJECT: messages sorted by base subject, then sent date; each run of one subject is a
 * thread whose first message is the parent of the others; threads by their first message's date.
 */
export function orderedSubject(messages: Sortable[]): Container[] {
  const sorted = messages.slice().sort((a, b) => (a.keys.subject < b.keys.subject ? -1 : a.keys.subject > b.keys.subject ? 1 : a.date - b.date || a.seq - b.seq))
  const threads: Container[] = []
  let top: Container | undefined
  for (const m of sorted) {
    if (top && top.message!.keys.subject === m.keys.subject) {
      link(top, newContainer(m))
    } else {
      top = newContainer(m)
      threads.push(top)
    }
  }
  return threads.sort(bySentDate)
}

function link(parent: Container, child: Container): void {
  child.parent = parent
  if (parent.children === NO_CHILDREN) parent.children = [child]
  else parent.children.push(child)
}

function unlink(child: Container): void {
  const parent = child.parent
  if (!parent) return
  const i = parent.children.indexOf(child)
  if (i >= 0) parent.children.splice(i, 1)
  child.parent = undefined
}

/** would making `child` a child of `parent` close a loop? (parent is child, or a descendant of it) */
function wouldLoop(parent: Container, child: Container): boolean {
  if (parent === child) return true
  // only a container with children can be an ancestor of anything
  if (!child.children.length) return false
  for (let p = parent.parent; p; p = p.parent) if (p === child) return true
  return false
}

/** REFERENCES: RFC 5256 §3 steps 1 to 6. */
export function referencesThreads(messages: Sortable[]): Container[] {
  // by Message-ID number (SortKeys.messageNumber): every message's keys come from one numbering
  const byId: (Container | undefined)[] = []
  const all: Container[] = []
  const containerOf = (id: number): Container => {
    let c = byId[id]
    if (!c) {
      byId[id] = c = newContainer()
      all.push(c)
    }
    return c
  }
  // (1) link each message with its references
  for (const m of messages) {
    const id = m.keys.messageNumber
    let own: Container
    const known = id < 0 ? undefined : byId[id]
    if (known && !known.message) {
      known.message = m
      own = known
    } else {
      // no Message-ID, or one a message before this one had: a container of its own
      own = newContainer(m)
      all.push(own)
      if (id >= 0 && !known) byId[id] = own
    }
    // (1A) each reference the parent of the next, unless linked already or that would loop
    let previous: Container | undefined
    for (const ref of m.keys.referenceNumbers) {
      const c = containerOf(ref)
      if (previous && !c.parent && !wouldLoop(previous, c)) link(previous, c)
      previous = c
    }
    // (1B) the last reference is the parent of this message, whatever parent it had
    unlink(own)
    if (previous && !wouldLoop(previous, own)) link(previous, own)
  }
  // (2) the root set
  let roots = all.filter((c) => !c.parent)
  // (3) prune dummies
  roots = pruneLevel(roots, undefined)
  const stack = roots.slice()
  while (stack.length) {
    const c = stack.pop()!
    if (!c.children.length) continue
    c.children = pruneLevel(c.children, c)
    for (const child of c.children) stack.push(child)
  }
  // (4) the root set by date (a dummy by its first child, once its children are in order)
  for (const r of roots) if (!r.message) r.children.sort(bySentDate)
  roots.sort(bySentDate)
  // (5) threads with the same base subject gathered
  roots = gatherSubjects(roots)
  // (6) every set of siblings by date, the deepest first (a dummy is dated by its first child)
  const order: Container[] = []
  for (const r of roots) order.push(r)
  for (let i = 0; i < order.length; i++) for (const child of order[i]!.children) order.push(child)
  for (let i = order.length - 1; i >= 0; i--) if (order[i]!.children.length > 1) order[i]!.children.sort(bySentDate)
  return roots.sort(bySentDate)
}

/**
 * Step 3 on one set of siblings: a dummy without children goes; a dummy with children gives way
 * to them, except at the top when it has more than one.
 */
function pruneLevel(level: Container[], owner: Container | undefined): Container[] {
  if (level.every((c) => c.message)) return level
  const out: Container[] = []
  const items = level.slice()
  for (let i = 0; i < items.length; i++) {
    const c = items[i]!
    if (c.message) {
      out.push(c)
      continue
    }
    if (!c.children.length) continue
    if (owner || c.children.length === 1) {
      for (const child of c.children) child.parent = owner
      items.push(...c.children)
      continue
    }
    out.push(c)
  }
  return out
}

/** the base subject a top-level thread is known by: its message's, or a dummy's first child's */
const threadSubject = (c: Container) => dated(c)?.keys.subject ?? ''

/** Step 5: threads of one base subject made one. */
function gatherSubjects(roots: Container[]): Container[] {
  const table = new Map<string, Container>()
  for (const r of roots) {
    const subject = threadSubject(r)
    if (!subject) continue
    const held = table.get(subject)
    if (!held) table.set(subject, r)
    else if (held.message && (!r.message || (held.message.keys.replyOrForward && !r.message.keys.replyOrForward))) table.set(subject, r)
  }
  const place = new Map<Container, number>()
  const out: (Container | undefined)[] = roots.slice()
  roots.forEach((r, i) => place.set(r, i))
  for (let i = 0; i < roots.length; i++) {
    const r = roots[i]!
    const subject = threadSubject(r)
    if (!subject) continue
    const held = table.get(subject)!
    if (held === r) continue
    out[i] = undefined
    if (!held.message && !r.message) {
      for (const child of r.children) link(held, child)
    } else if (!held.message || (r.message!.keys.replyOrForward && !held.message.keys.replyOrForward)) {
      link(held, r)
    } else {
      const dummy = newContainer()
      const at = place.get(held)!
      link(dummy, held)
      link(dummy, r)
      out[at] = dummy
      place.set(dummy, at)
      table.set(subject, dummy)
    }
  }
  return out.filter((c): c is Container => c !== undefined)
}

/** The thread list of THREAD's reply: `(2)(3 6 (4 23)(44 7 96))`, with `number` of each message. */
export function formatThreads(threads: Container[], number: (m: Sortable) => number): string {
  const out: string[] = []
  // a string on the stack is written as it is; a container writes its members
  const stack: (Container | string)[] = []
  for (let t = threads.length - 1; t >= 0; t--) stack.push(')', threads[t]!, '(')
  while (stack.length) {
    const item = stack.pop()!
    if (typeof item === 'string') {
      out.push(item)
      continue
    }
    const kids = item.children
    if (item.message) {
      out.push(String(number(item.message)))
      if (!kids.length) continue
      out.push(' ')
      // one child continues the same list; several are nested lists
      if (kids.length === 1) {
        stack.push(kids[0]!)
        continue
      }
    }
    for (let k = kids.length - 1; k >= 0; k--) stack.push(')', kids[k]!, '(')
  }
  return out.join('')
}
