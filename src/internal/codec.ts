import { type Either, type ParseResult, Schema } from "effect"

interface Codec {
  readonly encode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decode: (u: unknown) => Either.Either<any, ParseResult.ParseError>
}

// Effect compiles a parser per call of encode/decode constructors; keep one pair per schema instance
// so a step's hot path never builds a parser.
const codecs = new WeakMap<object, Codec>()

export const codecFor = (schema: Schema.Schema<any, any>): Codec => {
  let codec = codecs.get(schema)
  if (codec === undefined) {
    codec = { encode: Schema.encodeUnknownEither(schema), decode: Schema.decodeUnknownEither(schema) }
    codecs.set(schema, codec)
  }
  return codec
}
