/** A JSON Schema (draft 2020-12) fragment, as plain data. */
export type JsonSchema = { [key: string]: unknown };
