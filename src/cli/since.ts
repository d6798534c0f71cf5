/** `--since` / `--older-than`: a duration such as 30m, 2h, 7d (or 1w, 45s), or for `--since` an ISO date. */
import { Duration, Either } from "effect"

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim())
  return match === null
    ? Either.left(`${JSON.stringify(text)} is not a duration: use a number and s, m, h, d or w (e.g. 30m, 2h, 7d)`)
    : Either.right(Duration.millis(Number(match[1]) * units[match[2]!.toLowerCase()]!))
}

export const parseSince = (text: string, now: Date): Either.Either<Date, string> => {
  const duration = parseDuration(text)
  if (Either.isRight(duration)) return Either.right(new Date(now.getTime() - Duration.toMillis(duration.right)))
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(NaN)
  return Number.isNaN(date.getTime())
    ? Either.left(`--since ${JSON.stringify(text)}: expected an ISO date (2026-01-31, 2026-01-31T12:00:00Z) or a duration (30m, 2h, 7d)`)
    : Either.right(date)
}
