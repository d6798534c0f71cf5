/** `--since` / `--older-than`: a duration such as 30m, 2h, 7d (or 1w, 45s), or for `--since` an ISO date. */
import { Duration, Either } from "effect"

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

// units are lower case: "6M" is refused rather than read as minutes by someone meaning months
const maxMillis = 1000 * 365.25 * units["d"]!

export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim())
  if (match === null) return Either.left(`${JSON.stringify(text)} is not a duration: use a number and s, m, h, d or w (e.g. 30m, 2h, 7d)`)
  const millis = Number(match[1]) * units[match[2]!]!
  return millis > maxMillis ? Either.left(`${JSON.stringify(text)} is longer than 1000 years`) : Either.right(Duration.millis(millis))
}

export const parseSince = (text: string, now: Date): Either.Either<Date, string> => {
  const duration = parseDuration(text)
  if (Either.isRight(duration)) {
    const since = new Date(now.getTime() - Duration.toMillis(duration.right))
    return Number.isNaN(since.getTime()) ? Either.left(`--since ${JSON.stringify(text)}: too far back`) : Either.right(since)
  }
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(NaN)
  return Number.isNaN(date.getTime())
    ? Either.left(`--since ${JSON.stringify(text)}: expected an ISO date (2026-01-31, 2026-01-31T12:00:00Z) or a duration (30m, 2h, 7d)`)
    : Either.right(date)
}
