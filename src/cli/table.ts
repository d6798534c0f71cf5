/** Plain text tables that fit the terminal: the widest columns are cut (with "…") until the row fits. */

/** The terminal's width; when output is piped, $COLUMNS, else 100. */
export const terminalWidth = (): number => {
  const columns = process.stdout.columns || Number(process.env["COLUMNS"])
  return Number.isInteger(columns) && columns > 0 ? columns : 100
}

export const truncate = (text: string, width: number): string =>
  text.length <= width ? text : width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`

/**
 * Stored text made safe for a terminal: other control characters (escape sequences can retitle the
 * window, recolour the output or write the clipboard) shown as `\x1b`; newlines and tabs as spaces, so
 * a value never breaks the table.
 */
export const printable = (text: string): string =>
  text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

export const oneLine = (text: string): string => printable(text).replace(/[\r\n\t]+/g, " ")

// The widest column is cut first, but the first (a run's id, which the user copies into `show`) last
const fitWidths = (natural: ReadonlyArray<number>, width: number): Array<number> => {
  const widths = [...natural]
  const total = () => widths.reduce((n, w) => n + w, 0) + 2 * (widths.length - 1)
  while (total() > width) {
    const others = widths.slice(1)
    const widestOther = others.length === 0 ? -1 : 1 + others.indexOf(Math.max(...others))
    const column = widestOther !== -1 && widths[widestOther]! > 8 ? widestOther : widths.indexOf(Math.max(...widths))
    if (widths[column]! <= 4) break
    widths[column] = widths[column]! - 1
  }
  return widths
}

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, width = terminalWidth()): string => {
  const cells = [headers, ...rows].map((row) => row.map(oneLine))
  const natural = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)))
  const widths = fitWidths(natural, width)
  return cells
    .map((row) => row.map((cell, i) => truncate(cell, widths[i]!).padEnd(i === row.length - 1 ? 0 : widths[i]!)).join("  ").trimEnd())
    .join("\n")
}
