/**
 * The SQL dialects the helpers of src/sql read. A source passes its own to masking, lineage and
 * statement classification; what a dialect changes is listed where it is used (the lexer's Hive DDL
 * switch in masking.ts, the grammars in lineage.ts). Athena's is the only one so far, so two of its rules
 * still apply to every dialect: names fold to lower case (statements.ts), and the DDL events read are
 * Athena's (Hive DDL). A second dialect makes those depend on it too.
 */
export const SQL_DIALECTS = ['athena'] as const;
export type SqlDialect = (typeof SQL_DIALECTS)[number];
