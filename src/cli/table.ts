/** Plain text tables that fit the terminal: the widest columns are cut (with "…") until the row fits. */

/** The terminal's width; when output is piped, $COLUMNS, else 100. */
export const terminalWidth = (): number => {
  const columns = process.stdout.columns || Number(process.env["COLUMNS"])
  return Number.isInteger(columns) && columns > 0 ? columns : 100
}

export const truncate = (text: string, width: number): string =>
  text.length <= width ? text : width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`

/** One line: newlines and tabs shown as spaces, so a value never breaks the table. */
export const oneLine = (text: string): string => text.replace(/[\r\n\t]+/g, " ")

const fitWidths = (natural: ReadonlyArray<number>, width: number): Array<number> => {
  const widths = [...natural]
  const total = () => widths.reduce((n, w) => n + w, 0) + 2 * (widths.length - 1)
  while (total() > width) {
    const widest = widths.indexOf(Math.max(...widths))
    if (widths[widest]! <= 4) break
    widths[widest] = widths[widest]! - 1
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
