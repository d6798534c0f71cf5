// One encoder / decoder pair per Schema instance, kept in a WeakMap.
import { type Either, type ParseResult, Schema } from "effect"

interface Codec {
  readonly encode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

const codecs = new WeakMap<object, Codec>()

const codecFor = (schema: Schema.Schema<any, any>): Codec => {
  let codec = codecs.get(schema)
  if (codec === undefined) {
    codec = { encode: Schema.encodeUnknownEither(schema), decode: Schema.decodeUnknownEither(schema) }
    codecs.set(schema, codec)
  }
  return codec
}

export const encode = (schema: Schema.Schema<any, any>, u: unknown) => codecFor(schema).encode(u)
export const decode = (schema: Schema.Schema<any, any>, u: unknown) => codecFor(schema).decode(u)
