/**
 * A small lexer for SQL (Athena's dialect so far: Trino DML, Hive DDL) and literal masking for query history.
 *
 * The lexer is lossless: concatenating token texts gives back the input, so callers can rebuild or
 * rewrite a statement without losing anything they did not mean to change. It never throws; an
 * unterminated string, quoted identifier or comment runs to the end of the input.
 */
import type { SqlDialect } from './dialect';

export type TokenType =
  | 'whitespace'
  | 'line_comment'
  | 'block_comment'
  /** '...', the prefixed forms E'...', U&'...', X'...', B'...', N'...', and Hive's "..." */
  | 'string'
  /** "..." and U&"..." (Trino) */
  | 'quoted_identifier'
  /** `...` (Hive DDL) */
  | 'backquoted_identifier'
  | 'number'
  /** identifiers and keywords, including Hive identifiers that start with a digit (2023_sales) */
  | 'word'
  /** ? and $1 */
  | 'parameter'
  | 'operator';

export interface Token {
  type: TokenType;
  start: number;
  end: number;
  text: string;
  /** A string, quoted identifier or block comment that reached the end of input unclosed. */
  unterminated?: boolean;
}

export interface LexerOptions {
  /**
   * 'hive' for Hive DDL, which Athena runs on its Hive engine: strings are '...' or "..." and read
   * backslash escapes ('it\'s'). 'trino' (the default): "..." is an identifier, no backslash escapes.
   */
  dialect?: 'trino' | 'hive';
}

const CH_TAB = 9;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_DQUOTE = 34;
const CH_DOLLAR = 36;
const CH_AMP = 38;
const CH_QUOTE = 39;
const CH_RPAREN = 41;
const CH_STAR = 42;
const CH_PLUS = 43;
const CH_MINUS = 45;
const CH_DOT = 46;
const CH_SLASH = 47;
const CH_0 = 48;
const CH_9 = 57;
const CH_QMARK = 63;
const CH_RBRACKET = 93;
const CH_BACKSLASH = 92;
const CH_UNDERSCORE = 95;
const CH_BACKTICK = 96;

const UNICODE_SPACES = new Set([0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]);

function isSpace(c: number): boolean {
  if (c === CH_SPACE || (c >= CH_TAB && c <= CH_CR)) return true; // \t \n \v \f \r
  return c >= 0x80 && (UNICODE_SPACES.has(c) || (c >= 0x2000 && c <= 0x200b));
}

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Non-ASCII code units (surrogate halves included) count as letters: identifiers may be unicode. */
function isIdentStart(c: number): boolean {
  return isLetter(c) || c === CH_UNDERSCORE || (c >= 0x80 && !isSpace(c));
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === CH_DOLLAR;
}

const TWO_CHAR_OPERATORS = new Set(['<>', '<=', '>=', '!=', '||', '->', '=>', '::']);

/**
 * Reserved words that can precede a `.` without naming anything, so `SELECT.5` still reads `.5` as a
 * number. Only used to decide whether digits after a dot are part of a qualified name.
 */
const NOT_A_NAME = new Set([
  'SELECT',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'THEN',
  'ELSE',
  'WHEN',
  'CASE',
  'BETWEEN',
  'LIKE',
  'IS',
  'ON',
  'BY',
  'HAVING',
  'LIMIT',
  'OFFSET',
  'VALUES',
  'RETURN',
  'AS',
  'END',
  'DISTINCT',
]);

const INT_RE = /^\d(?:_?\d)*$/;
const EXP_INT_RE = /^\d(?:_?\d)*[eE]\d+$/;
const EXP_OPEN_RE = /^\d(?:_?\d)*[eE]$/;
const RADIX_RE = /^0(?:[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|[bB][01](?:_?[01])*|[oO][0-7](?:_?[0-7])*)$/;
/** Hive typed numerals: 10L, 10S, 10Y (integers), 1D (double), 1BD (decimal). */
const HIVE_SUFFIX_RE = /^\d(?:_?\d)*(?:[lLsSyYdD]|[bB][dD])$/;

export class Lexer {
  private pos = 0;
  private prev: Token | null = null;
  private prevPrev: Token | null = null;
  private readonly hive: boolean;

  constructor(
    private readonly sql: string,
    options: LexerOptions = {},
  ) {
    this.hive = options.dialect === 'hive';
  }

  /** The next token, or null at the end of input. */
  next(): Token | null {
    const s = this.sql;
    const i = this.pos;
    if (i >= s.length) return null;
    const c = s.charCodeAt(i);
    const c1 = i + 1 < s.length ? s.charCodeAt(i + 1) : -1;
    let tok: Token;

    if (isSpace(c)) {
      let j = i + 1;
      while (j < s.length && isSpace(s.charCodeAt(j))) j++;
      tok = this.make('whitespace', i, j);
    } else if (c === CH_MINUS && c1 === CH_MINUS) {
      let j = s.indexOf('\n', i + 2);
      if (j < 0) j = s.length;
      tok = this.make('line_comment', i, j);
    } else if (c === CH_SLASH && c1 === CH_STAR) {
      const j = s.indexOf('*/', i + 2);
      tok = j < 0 ? this.make('block_comment', i, s.length, true) : this.make('block_comment', i, j + 2);
    } else if (c === CH_QUOTE) {
      tok = this.string(i, i, CH_QUOTE, this.hive);
    } else if (c === CH_DQUOTE && this.hive) {
      tok = this.string(i, i, CH_DQUOTE, true);
    } else if (c === CH_DQUOTE) {
      tok = this.quoted('quoted_identifier', i, i, CH_DQUOTE);
    } else if (c === CH_BACKTICK) {
      tok = this.quoted('backquoted_identifier', i, i, CH_BACKTICK);
    } else if (c1 === CH_QUOTE && /[eExXbBnN]/.test(s[i] ?? '')) {
      // E'..' escapes with backslashes whatever the statement's dialect.
      tok = this.string(i, i + 1, CH_QUOTE, this.hive || c === 69 || c === 101);
    } else if ((c === 85 || c === 117) && c1 === CH_AMP && s.charCodeAt(i + 2) === CH_QUOTE) {
      tok = this.string(i, i + 2, CH_QUOTE, this.hive);
    } else if ((c === 85 || c === 117) && c1 === CH_AMP && s.charCodeAt(i + 2) === CH_DQUOTE) {
      tok = this.quoted('quoted_identifier', i, i + 2, CH_DQUOTE);
    } else if (isDigit(c)) {
      tok = this.afterNameDot(i) ? this.word(i) : this.number(i);
    } else if (c === CH_DOT && isDigit(c1) && !this.isNameEnd(this.prev, i)) {
      tok = this.fraction(i, i);
    } else if (isIdentStart(c)) {
      tok = this.word(i);
    } else if (c === CH_QMARK) {
      tok = this.make('parameter', i, i + 1);
    } else if (c === CH_DOLLAR && isDigit(c1)) {
      let j = i + 1;
      while (j < s.length && isDigit(s.charCodeAt(j))) j++;
      tok = this.make('parameter', i, j);
    } else {
      const two = s.slice(i, i + 2);
      tok = this.make('operator', i, TWO_CHAR_OPERATORS.has(two) ? i + 2 : i + 1);
    }

    this.pos = tok.end;
    if (tok.type !== 'whitespace') {
      this.prevPrev = this.prev;
      this.prev = tok;
    } else {
      // Whitespace breaks adjacency: `t. 5` is not a qualified name.
      this.prevPrev = null;
      this.prev = tok;
    }
    return tok;
  }

  private make(type: TokenType, start: number, end: number, unterminated = false): Token {
    const tok: Token = { type, start, end, text: this.sql.slice(start, end) };
    if (unterminated) tok.unterminated = true;
    return tok;
  }

  /** A string whose opening quote is at `open`; `start` includes any prefix. */
  private string(start: number, open: number, quote: number, backslash: boolean): Token {
    const s = this.sql;
    let j = open + 1;
    for (;;) {
      if (j >= s.length) return this.make('string', start, s.length, true);
      const c = s.charCodeAt(j);
      if (backslash && c === CH_BACKSLASH) {
        j += 2;
      } else if (c === quote) {
        if (s.charCodeAt(j + 1) === quote) j += 2;
        else return this.make('string', start, j + 1);
      } else {
        j++;
      }
    }
  }

  /** A quoted identifier; the closing character doubled is an escaped one. */
  private quoted(type: TokenType, start: number, open: number, close: number): Token {
    const s = this.sql;
    const ch = String.fromCharCode(close);
    let j = open + 1;
    for (;;) {
      const k = s.indexOf(ch, j);
      if (k < 0) return this.make(type, start, s.length, true);
      if (s.charCodeAt(k + 1) === close) j = k + 2;
      else return this.make(type, start, k + 1);
    }
  }

  private word(i: number): Token {
    const s = this.sql;
    let j = i + 1;
    while (j < s.length && isIdentPart(s.charCodeAt(j))) j++;
    return this.make('word', i, j);
  }

  /** True when `tok` ends a name right at `at`, so a following `.x` is a member access. */
  private isNameEnd(tok: Token | null, at: number): boolean {
    if (!tok || tok.end !== at) return false;
    if (tok.type === 'quoted_identifier' || tok.type === 'backquoted_identifier') return true;
    if (tok.type === 'word') return !NOT_A_NAME.has(tok.text.toUpperCase());
    if (tok.type === 'operator') {
      const c = tok.text.charCodeAt(0);
      return tok.text.length === 1 && (c === CH_RPAREN || c === CH_RBRACKET);
    }
    return false;
  }

  /** Digits right after `name.` are a name part (`x.3d`, Hive `db.2023_sales`), never a number. */
  private afterNameDot(i: number): boolean {
    const dot = this.prev;
    return dot !== null && dot.type === 'operator' && dot.text === '.' && dot.end === i && this.isNameEnd(this.prevPrev, dot.start);
  }

  /**
   * A numeric literal, or a Hive identifier that starts with digits. The maximal run of identifier
   * characters decides: `2023_sales` and `1col` are words, `1e10`, `0x1F` and `10L` are numbers.
   */
  private number(i: number): Token {
    const s = this.sql;
    let j = i + 1;
    while (j < s.length && isIdentPart(s.charCodeAt(j))) j++;
    const run = s.slice(i, j);
    if (INT_RE.test(run)) {
      if (s.charCodeAt(j) === CH_DOT && !(s.charCodeAt(j + 1) === CH_DOT)) return this.fraction(i, j);
      return this.make('number', i, j);
    }
    if (EXP_INT_RE.test(run) || RADIX_RE.test(run) || HIVE_SUFFIX_RE.test(run)) return this.make('number', i, j);
    if (EXP_OPEN_RE.test(run)) {
      const sign = s.charCodeAt(j);
      if ((sign === CH_PLUS || sign === CH_MINUS) && isDigit(s.charCodeAt(j + 1))) {
        let k = j + 1;
        while (k < s.length && isDigit(s.charCodeAt(k))) k++;
        return this.make('number', i, k);
      }
    }
    return this.make('word', i, j);
  }

  /** Digits from `start`, with the decimal point at `dot`: fraction, then an optional exponent. */
  private fraction(start: number, dot: number): Token {
    const s = this.sql;
    let j = dot + 1;
    while (j < s.length && (isDigit(s.charCodeAt(j)) || (s.charCodeAt(j) === CH_UNDERSCORE && isDigit(s.charCodeAt(j + 1))))) j++;
    const e = s.charCodeAt(j);
    if (e === 69 || e === 101) {
      let k = j + 1;
      const sign = s.charCodeAt(k);
      if (sign === CH_PLUS || sign === CH_MINUS) k++;
      if (isDigit(s.charCodeAt(k))) {
        while (k < s.length && isDigit(s.charCodeAt(k))) k++;
        j = k;
      }
    }
    // Hive decimal suffixes (1.5D, 1.5BD) belong to the literal.
    const rest = s.slice(j, j + 3);
    const suffix = /^(?:[bB][dD]|[dD])/.exec(rest);
    if (suffix && !isIdentPart(s.charCodeAt(j + suffix[0].length))) j += suffix[0].length;
    return this.make('number', start, j);
  }
}

export function tokenize(sql: string, options?: LexerOptions): Token[] {
  const lexer = new Lexer(sql, options);
  const out: Token[] = [];
  for (let t = lexer.next(); t !== null; t = lexer.next()) out.push(t);
  return out;
}

export function isTrivia(t: Token): boolean {
  return t.type === 'whitespace' || t.type === 'line_comment' || t.type === 'block_comment';
}

/** Tokens without whitespace and comments. */
export function significantTokens(sql: string, options?: LexerOptions): Token[] {
  return tokenize(sql, options).filter((t) => !isTrivia(t));
}

/** The first `n` significant tokens, lexing no further than needed. */
export function leadingTokens(sql: string, n: number, options?: LexerOptions): Token[] {
  const lexer = new Lexer(sql, options);
  const out: Token[] = [];
  for (let t = lexer.next(); t !== null && out.length < n; t = lexer.next()) if (!isTrivia(t)) out.push(t);
  return out;
}

export function isWord(t: Token | undefined, ...words: string[]): boolean {
  if (!t || t.type !== 'word') return false;
  const upper = t.text.toUpperCase();
  return words.length === 0 || words.includes(upper);
}

export function isOp(t: Token | undefined, op: string): boolean {
  return t !== undefined && t.type === 'operator' && t.text === op;
}

/**
 * Index of the first `AS` at paren depth 0 (from `from`) that introduces a query, or -1. Used to tell
 * CREATE TABLE ... AS SELECT apart from Hive's CREATE TABLE ... STORED AS PARQUET.
 */
export function findQueryAs(tokens: Token[], from: number): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'operator') {
      if (t.text === '(' || t.text === '[') depth++;
      else if (t.text === ')' || t.text === ']') depth = Math.max(0, depth - 1);
      else if (t.text === ';' && depth === 0) return -1;
      continue;
    }
    if (depth === 0 && isWord(t, 'AS') && !isWord(tokens[i - 1], 'STORED')) {
      const n = tokens[i + 1];
      if (isWord(n, 'SELECT', 'WITH', 'VALUES', 'TABLE') || isOp(n, '(')) return i;
    }
  }
  return -1;
}

/**
 * Lexer options for a statement of `dialect`. Athena: Hive DDL for the statements Athena runs on its
 * Hive engine. Only statements that are surely Hive DDL switch, since reading a Trino string ending in a
 * backslash as escaped would run it into the next literal and leave that unmasked.
 */
export function lexerOptionsFor(sql: string, dialect: SqlDialect): LexerOptions {
  if (dialect !== 'athena') return {};
  const head = leadingTokens(sql, 3);
  const hive: LexerOptions = { dialect: 'hive' };
  if (isWord(head[0], 'MSCK')) return hive;
  if (isWord(head[0], 'ALTER') && isWord(head[1], 'TABLE', 'DATABASE', 'SCHEMA')) return hive;
  if (isWord(head[0], 'CREATE')) {
    if (isWord(head[1], 'EXTERNAL', 'DATABASE', 'SCHEMA')) return hive;
    if (isWord(head[1], 'TABLE') && findQueryAs(significantTokens(sql), 2) < 0) return hive;
  }
  return {};
}

/** What a masked string literal becomes; quoted so typed literals stay valid (DATE '?'). */
export const STRING_PLACEHOLDER = "'?'";
/** What a masked numeric literal becomes, like a prepared-statement parameter. */
export const NUMBER_PLACEHOLDER = '?';

/**
 * Masks every literal value in `sql`: string literals (all prefixed forms too) become '?', numeric
 * literals become ?. Keywords of typed literals stay (DATE '?', INTERVAL '?' DAY); a minus sign is an
 * operator and stays. Identifiers, quoted or not, keywords and parameters are never touched; in Hive
 * DDL (see lexerOptionsFor) "..." is a string, as the Hive engine reads it, and is masked.
 *
 * Comments are dropped: they are free text, and a lexer cannot find the names or emails in prose. A
 * block comment between two tokens becomes one space so the tokens stay apart.
 *
 * Linear in the input; an unterminated string is masked to the end of the input.
 */
export function maskLiterals(sql: string, dialect: SqlDialect): string {
  const lexer = new Lexer(sql, lexerOptionsFor(sql, dialect));
  const parts: string[] = [];
  let pendingComment = false;
  let lastIsSpace = true;
  const emit = (text: string): void => {
    if (text.length === 0) return;
    parts.push(text);
    lastIsSpace = /\s$/.test(text);
  };
  for (let t = lexer.next(); t !== null; t = lexer.next()) {
    if (t.type === 'line_comment' || t.type === 'block_comment') {
      if (t.type === 'block_comment') pendingComment = true;
      continue;
    }
    if (pendingComment) {
      if (!lastIsSpace && t.type !== 'whitespace') emit(' ');
      pendingComment = false;
    }
    if (t.type === 'string') {
      // Keep the placeholder a literal of its own: '?''?' reads back as one, and b'?' (from Hive's
      // b"x") as a prefixed one.
      const last = parts.length > 0 ? parts[parts.length - 1]! : '';
      const c = last.charCodeAt(last.length - 1);
      if (c === CH_QUOTE || c === CH_AMP || isIdentPart(c)) emit(' ');
      emit(STRING_PLACEHOLDER);
    } else if (t.type === 'number') {
      emit(NUMBER_PLACEHOLDER);
    } else {
      emit(t.text);
    }
  }
  return parts.join('');
}
