/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT: a write after a read of a stale WAL snapshot), on an error or its cause. */
export const isBusy = (error: unknown): boolean => {
  const busy = (u: unknown) => {
    const code = typeof u === "object" && u !== null ? (u as { readonly code?: unknown }).code : undefined
    return typeof code === "string" && code.startsWith("SQLITE_BUSY")
  }
  return busy(error) || (typeof error === "object" && error !== null && busy((error as { readonly cause?: unknown }).cause))
}
