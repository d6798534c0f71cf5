import { type Either, type ParseResult, Schema } from "effect"

interface Codec {
  readonly encode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

// Effect already memoizes the parser per AST (ParseResult's goMemo); building `Schema.encodeUnknownEither(schema)`
// per call costs two closures and that lookup. Keeping the pair per schema is a little faster
// (encode ~0.13 µs a call, decode the same; per step within noise: bench/codec.ts), so it stays.
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
