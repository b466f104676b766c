/**
 * Record ranges for listings (seed 004): `Range: records=i-j` (0-based, inclusive; `records i-j` as the
 * seed writes it is accepted too, and `records=i-` means to the end). The answer is 206 with
 * `Content-Range: records i-j/total`, or 416 with `Content-Range: records *\/total` when i is past the end.
 */
import { PresenceError } from '../errors';

export interface RecordRange {
  first: number;
  /** Inclusive; null: to the end. */
  last: number | null;
}

/** undefined when there is no Range of unit `records` (RFC 9110 §14.2: other units are ignored). */
export function parseRecordsRange(header: string | undefined): RecordRange | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  if (!/^records(?=[\s=])/i.test(h)) return undefined;
  const m = /^records\s*[=\s]\s*(\d{1,15})\s*-\s*(\d{1,15})?$/i.exec(h);
  if (!m) throw new PresenceError('BAD_REQUEST', 'Range must be records=i-j');
  const first = Number(m[1]);
  const last = m[2] === undefined ? null : Number(m[2]);
  if (last !== null && last < first) throw new PresenceError('BAD_REQUEST', 'Range records=i-j needs i <= j');
  return { first, last };
}

export interface Slice {
  offset: number;
  count: number;
  /** 206 or 200 */
  status: 200 | 206;
  contentRange: string | null;
}

/**
 * Which records to answer with, given the total and the page bound. Without a Range: the first
 * `maxPage`, 206 when that is not all of them. A range starting past the end: 416.
 */
export function sliceFor(range: RecordRange | undefined, total: number, maxPage: number): Slice {
  if (range === undefined) {
    const count = Math.min(total, maxPage);
    if (count === total) return { offset: 0, count, status: 200, contentRange: null };
    return { offset: 0, count, status: 206, contentRange: `records 0-${count - 1}/${total}` };
  }
  if (range.first >= total) {
    throw new PresenceError('RANGE_NOT_SATISFIABLE', `records ${range.first}- starts past the end (${total} records)`, { 'Content-Range': `records */${total}` });
  }
  const last = Math.min(range.last ?? total - 1, total - 1, range.first + maxPage - 1);
  return { offset: range.first, count: last - range.first + 1, status: 206, contentRange: `records ${range.first}-${last}/${total}` };
}
