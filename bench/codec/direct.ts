// Effect's own calls each time: the parser itself is memoized per AST by ParseResult.
import { Schema } from "effect"

export const encode = (schema: Schema.Schema<any, any>, u: unknown) => Schema.encodeUnknownEither(schema)(u)
export const decode = (schema: Schema.Schema<any, any>, u: unknown) => Schema.decodeUnknownEither(schema)(u)
