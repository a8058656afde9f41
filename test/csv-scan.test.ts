import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { ValidationError } from '../src/contracts/errors';
import { COLUMNS } from '../src/contracts/extract-format';
import { headerLine, rowEncoder } from '../src/extracts/csv-encoder';
import { CsvScanner } from '../src/extracts/csv-scan';
import { validateFiles } from '../src/extracts/validate';

const header = headerLine('usage');
const good = (over: Record<string, string> = {}) =>
  `${COLUMNS.usage.map((c) => over[c.name] ?? { period_start: '2026-11-01T00:00:00.000Z', period_end: '2026-11-02T00:00:00.000Z', catalog: 'c', query_id: 'q', calls: '3', toplevel: 'true' }[c.name] ?? '').join(',')}\r\n`;

async function problemsOf(body: string | Buffer, rows: number, name = 'c_usage_s.csv'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'scan-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, body);
    try {
      await validateFiles([{ kind: 'usage', name, path, rows }]);
      return '';
    } catch (e) {
      assert.ok(e instanceof ValidationError, 'a ValidationError (non-retryable)');
      return e.message;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('validation scanner', () => {
  it('accepts encoder output with every awkward value, whatever the chunk boundaries, and hashes the bytes as stored', async () => {
    const encode = rowEncoder('usage');
    const nasty = ['a,b', 'say "hi"', 'x\ry', 'x\ny', '\r\n', '"', '""', 'é日本😀', 'x'.repeat(3_000_000), ''];
    let body = header;
    for (const [i, s] of nasty.entries()) {
      body += encode({
        period_start: new Date(0),
        period_end: new Date(1e12),
        catalog: 'c',
        query_id: `q${i}`,
        user_name: s,
        query_text: s,
        statement_type: s,
        calls: i,
        toplevel: i % 2 === 0,
      });
    }
    assert.equal(await problemsOf(body, nasty.length), '');
    assert.equal(await problemsOf(gzipSync(body), nasty.length, 'c_usage_s.csv.gz'), '');
  });

  it('gives the same verdict for every split of the input into chunks', () => {
    const run = (body: Buffer, cuts: number[]) => {
      const seen: string[] = [];
      const scanner = new CsvScanner(
        COLUMNS.usage,
        (h) => seen.push(`header ${h.length}`),
        (row, fields, problems) => seen.push(`${row}:${fields}:${problems.join('|')}`),
      );
      try {
        let at = 0;
        for (const cut of [...cuts, body.length]) {
          scanner.push(body.subarray(at, cut));
          at = cut;
        }
        scanner.end();
      } catch (e) {
        seen.push((e as Error).message);
      }
      return seen.join('\n');
    };
    const bodies = [
      `${header}${good({ query_text: '"a ""b"", c\r\nd"', calls: '"12"', toplevel: '"false"' })}${good({ catalog: '', calls: 'x' })}`,
      `${header}${good({ query_text: '"unterminated' })}`,
      `${header}${good({ query_text: 'a"b' })}`,
    ].map((b) => Buffer.from(b));
    for (const body of bodies) {
      const whole = run(body, []);
      for (let a = 0; a <= body.length; a++) {
        assert.equal(run(body, [a]), whole, `one cut at ${a}`);
        const b = Math.min(body.length, a + 1 + (a % 7));
        assert.equal(run(body, [a, b]), whole, `cuts at ${a}, ${b}`);
      }
    }
  });

  const cases: [string, string, number, RegExp][] = [
    [
      'a bare quote in an unquoted field',
      `${header}${good({ query_text: 'say "hi"' })}`,
      1,
      /unreadable CSV: a quote inside an unquoted field .* on line 2/,
    ],
    [
      'an unterminated quote at EOF',
      `${header}${good().slice(0, -2)},"open`,
      1,
      /unreadable CSV: a quoted field not closed at the end of the file/,
    ],
    ['text after a closing quote', `${header}${good({ query_text: '"a"b' })}`, 1, /a character after the closing quote/],
    ['a CR without LF', `${header}${good({ query_text: 'a\rb' })}`, 1, /a carriage return without a line feed/],
    ['a bare LF', `${header}${good({ query_text: 'a\nb' })}`, 1, /a line feed inside an unquoted field/],
    ['LF-only record ends', `${header.replace('\r\n', '\n')}`, 0, /a line feed/],
    ['a missing final CRLF', `${header}${good().slice(0, -2)}`, 1, /the last record is not ended by CRLF/],
    ['a wrong field count', `${header}${good().replace('\r\n', ',extra\r\n')}`, 1, /row 1: 12 fields, expected 11/],
    ['an empty line', `${header}\r\n`, 1, /row 1: 1 fields, expected 11/],
    ['a required value empty', `${header}${good({ catalog: '' })}`, 1, /row 1, column catalog: required but empty/],
    ['a required value quoted empty', `${header}${good({ query_id: '""' })}`, 1, /row 1, column query_id: required but empty/],
    [
      'a bad timestamp',
      `${header}${good({ period_end: '2026-13-45T00:00:00.000Z' })}`,
      1,
      /row 1, column period_end: not an ISO-8601 UTC timestamp/,
    ],
    ['a bad bool', `${header}${good({ toplevel: 'yes' })}`, 1, /row 1, column toplevel: not true\/false: "yes"/],
    ['a quoted bad int', `${header}${good({ calls: '"1,5"' })}`, 1, /row 1, column calls: not an integer: "1,5"/],
    ['a BOM', `\uFEFF${header}`, 0, /header is/],
    ['an empty file', '', 0, /empty file: the header row is missing/],
  ];
  for (const [what, body, rows, expected] of cases) {
    it(`rejects ${what}`, async () => {
      const m = await problemsOf(body, rows);
      assert.match(m, expected);
      assert.match(m, /nothing was uploaded and the HWM is unchanged/);
    });
  }

  it('rejects a truncated gzip', async () => {
    const gz = gzipSync(`${header}${good()}`);
    assert.match(await problemsOf(gz.subarray(0, gz.length - 6), 1, 'c_usage_s.csv.gz'), /gzip is corrupt/);
  });
});
