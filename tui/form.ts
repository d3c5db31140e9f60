/**
 * A modal form of labelled one-line fields (blessed), for the dashboard's dialogs that ask more
 * than one thing. Enter moves to the next field; on the last field, or on any field once the form
 * was submitted, it submits. A refusal is shown under the fields and puts the cursor back in the
 * field it names, with everything typed kept, so a typo costs one field, not the whole form.
 * Esc cancels.
 */
import blessed from 'blessed'

export interface FormField {
  name: string
  label: string
  /** shown as `*` while typed */
  censor?: boolean
  /** a short note right of the input, e.g. the accepted forms */
  hint?: string
}

/** What submit says when it refuses the values: which field to fix, and why. */
export interface FormRefusal {
  field: string
  error: string
}

export interface FormOptions {
  label: string
  fields: FormField[]
  /** undefined: accepted, the form closes */
  submit: (values: Record<string, string>) => Promise<FormRefusal | undefined>
}

const LABEL_WIDTH = 10
const INPUT_WIDTH = 32

/** Resolves true once submit accepted the values, false when cancelled. */
export function openForm(screen: blessed.Widgets.Screen, options: FormOptions): Promise<boolean> {
  const {fields} = options
  const width = Math.min(72, Math.max(40, (screen.width as number) - 4))
  const box = blessed.box({parent: screen, top: 'center', left: 'center', width, height: fields.length + 4, border: 'line', label: ` ${options.label} `})
  const inputs = fields.map((f, i) => {
    blessed.text({parent: box, top: i, left: 1, width: LABEL_WIDTH, height: 1, content: f.label})
    const inputWidth = f.hint ? Math.min(INPUT_WIDTH, 16) : Math.min(INPUT_WIDTH + 16, width - LABEL_WIDTH - 5)
    if (f.hint) blessed.text({parent: box, top: i, left: 2 + LABEL_WIDTH + inputWidth, width: width - LABEL_WIDTH - inputWidth - 5, height: 1, content: f.hint})
    // not inputOnFocus: that re-reads whichever field focus rewinds to after each Enter
    return blessed.textbox({parent: box, top: i, left: 1 + LABEL_WIDTH, width: inputWidth, height: 1, censor: f.censor ?? false, style: {bg: 'blue'}})
  })
  // two lines: room for a refusal that names the value and the accepted forms
  const message = blessed.text({parent: box, top: fields.length, left: 1, width: width - 4, height: 2, content: 'Enter: next field · Esc: cancel', style: {fg: 'yellow'}})

  return new Promise((resolve) => {
    let submitted = false
    const close = (ok: boolean) => {
      box.destroy()
      resolve(ok)
    }
    const submit = async () => {
      submitted = true
      // a password is taken as typed, spaces and all
      const values = Object.fromEntries(fields.map((f, i) => [f.name, f.censor ? inputs[i]!.getValue() : inputs[i]!.getValue().trim()]))
      let refusal: FormRefusal | undefined
      try {
        refusal = await options.submit(values)
      } catch (err) {
        refusal = {field: fields[0]!.name, error: (err as Error).message}
      }
      if (!refusal) return close(true)
      message.style.fg = 'red'
      message.setContent(refusal.error)
      read(Math.max(0, fields.findIndex((f) => f.name === refusal.field)))
    }
    const read = (i: number) => {
      screen.render()
      inputs[i]!.readInput((_err: unknown, value: string | undefined) => {
        if (value === undefined || value === null) return close(false)
        if (submitted || i === fields.length - 1) void submit()
        else read(i + 1)
      })
    }
    // the form holds the focus between fields and while submit runs: no key reaches the table behind
    box.focus()
    read(0)
  })
}
