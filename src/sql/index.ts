export { SQL_DIALECTS, type SqlDialect } from './dialect';
export { maskLiterals, tokenize, NUMBER_PLACEHOLDER, STRING_PLACEHOLDER, type Token, type TokenType, type LexerOptions } from './masking';
export {
  extractLineage,
  viewLineage,
  type ColumnLineage,
  type ColumnLookup,
  type LineageOptions,
  type LineageResult,
  type LineageStatement,
  type SourceColumn,
  type TableRef,
  type Transformation,
} from './lineage';
export { classifyStatement, type DdlEvent, type DdlEventType, type ObjectName, type SqlContext } from './statements';
export { queryTags, MAX_TAGS_JSON_CHARS, type QueryTag, type QueryTags } from './tags';
