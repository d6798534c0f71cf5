/**
 * Values this library built itself and knows to be valid (a runDurable snapshot, a step cache entry):
 * stores skip re-validating them, which would cost a walk over every value at each checkpoint.
 * Anything a user hands in is validated as usual.
 */
const trusted = new WeakSet<object>()

export const markTrusted = <A extends object>(value: A): A => {
  trusted.add(value)
  return value
}

export const isTrusted = (value: object): boolean => trusted.has(value)
