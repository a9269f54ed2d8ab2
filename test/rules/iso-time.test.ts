import { describe, expect, it } from 'vitest';
import { formatIsoMs, parseIsoMs } from '../../src/rules/crs-sentinel/iso-time.js';

/** Deterministic PRNG (mulberry32): the same strings on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const random = prng(42);
const int = (n: number): number => Math.floor(random() * n);
const two = (n: number): string => String(n).padStart(2, '0');
const YEAR_0 = -62_167_219_200_000;
const YEAR_10000 = 253_402_300_800_000;

/** Instants as servers send them: UTC or an offset, 0 to 7 fraction digits. */
function serverStyle(ms: number): string {
  const offsetMinutes = random() < 0.4 ? 0 : (int(29) - 14) * 60 + [0, 30, 45][int(3)]!;
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const fraction = ['', `.${String(int(10))}`, `.${two(int(100))}`, `.${String(int(1000)).padStart(3, '0')}`][
    int(4)
  ]!;
  const longer = random() < 0.1 ? `${fraction || '.'}${String(int(10_000))}` : fraction;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone =
    offsetMinutes === 0 && random() < 0.7 ? 'Z' : `${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
  return `${local}${longer}${zone}`;
}

/** One character replaced, inserted or removed. */
function mutate(s: string): string {
  const pool = '0123456789-:+.TZtz /,x';
  const at = int(s.length);
  const c = pool[int(pool.length)]!;
  const kind = int(3);
  if (kind === 0) return s.slice(0, at) + c + s.slice(at + 1);
  if (kind === 1) return s.slice(0, at) + c + s.slice(at);
  return s.slice(0, at) + s.slice(at + 1);
}

const BOUNDARIES = [
  '2025-02-28T23:59:59Z',
  '2025-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2100-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '2025-04-31T00:00:00Z',
  '2025-01-15T24:00:00Z',
  '2025-01-15T23:59:60Z',
  '2025-01-15T12:00:00.Z',
  '2025-01-15T12:00Z',
  '2025-01-15T12:00:00',
  '2025-01-15',
  '2025-01',
  '2025',
  '2025-01-15T12:00:00+14:00',
  '2025-01-15T12:00:00-12:00',
  '2025-01-15T12:00:00+23:59',
  '2025-01-15T12:00:00+24:00',
  '2025-01-15T12:00:00+01:60',
  '2025-01-15T12:00:00+0100',
  '2025-01-15T12:00:00-00:00',
  '2025-01-15t12:00:00Z',
  '2025-01-15T12:00:00z',
  '2025-01-15 12:00:00Z',
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:00:00+00:01',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999-00:01',
  '1969-12-31T23:59:59.999Z',
  '1900-01-01T00:00:00.123456789Z',
  '2025-00-15T12:00:00Z',
  '2025-13-15T12:00:00Z',
  '2025-01-00T12:00:00Z',
  '2025-01-15T12:00:00,5Z',
  '+002025-01-15T12:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2025-01-15T12:00:00.123Zjunk',
  '２０２５-01-15T12:00:00Z',
  '',
  'not a date',
];

describe('parseIsoMs is Date.parse', () => {
  it('on boundary and malformed strings', () => {
    for (const s of BOUNDARIES) expect([s, parseIsoMs(s)]).toEqual([s, Date.parse(s)]);
  });

  it('on 20,000 server-style instants from year 0 to 9999, and one-character mutations of each', () => {
    const mismatches: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const s = serverStyle(
        YEAR_0 + 86_400_000 + Math.floor(random() * (YEAR_10000 - YEAR_0 - 2 * 86_400_000)),
      );
      for (const candidate of [s, mutate(s), mutate(mutate(s))]) {
        if (!Object.is(parseIsoMs(candidate), Date.parse(candidate))) mismatches.push(candidate);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('formatIsoMs is toISOString', () => {
  it('on 20,000 instants and the edges of the fast range', () => {
    const edges = [0, -1, 1, YEAR_0, YEAR_0 - 1, YEAR_10000 - 1, YEAR_10000, 951_782_400_000, -0];
    const random20k = Array.from({ length: 20_000 }, () =>
      Math.floor(YEAR_0 - 1e12 + random() * (YEAR_10000 - YEAR_0 + 2e12)),
    );
    const mismatches = [...edges, ...random20k].filter(
      (ms) => formatIsoMs(ms) !== new Date(ms).toISOString(),
    );
    expect(mismatches).toEqual([]);
  });
});
