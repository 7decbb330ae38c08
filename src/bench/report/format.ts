// Number formatting shared by the Markdown and HTML reports. Missing values (NaN, or null
// after a JSON round trip) print as an em dash, never as 0.

type Num = number | null | undefined;

export function isNum(v: Num): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function int(v: Num): string {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : '—';
}

/** Milliseconds with sensible precision: 0.123, 1.23, 12.3, 123. */
export function ms(v: Num): string {
  if (!isNum(v)) return '—';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

export function pct(v: Num, digits = 0): string {
  return isNum(v) ? `${(v * 100).toFixed(digits)}%` : '—';
}

export function mb(v: Num): string {
  if (!isNum(v)) return '—';
  const m = v / (1024 * 1024);
  return m < 10 ? m.toFixed(1) : Math.round(m).toLocaleString('en-US');
}

export function fixed(v: Num, digits = 1): string {
  return isNum(v) ? v.toFixed(digits) : '—';
}

/** "12 (reset 10, timeout 2)" */
export function errorsText(total: number, byKind: Readonly<Record<string, number>>): string {
  if (!(total > 0)) return '0';
  const kinds = Object.entries(byKind)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${k} ${int(n)}`);
  return `${int(total)} (${kinds.join(', ')})`;
}

export function duration(s: Num): string {
  if (!isNum(s)) return '—';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}
