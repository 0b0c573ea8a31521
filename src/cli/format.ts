/** Terminal output helpers: aligned tables and sparklines. */
const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: ReadonlyArray<number | null>, width = 40): string {
  const vals = values.length > width ? downsample(values, width) : values;
  const nums = vals.filter((v): v is number => v !== null && Number.isFinite(v));
  if (nums.length === 0) return '';
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const span = max - min;
  return vals
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const i = span === 0 ? 3 : Math.round(((v - min) / span) * (BARS.length - 1));
      return BARS[i];
    })
    .join('');
}

function downsample(values: ReadonlyArray<number | null>, width: number): Array<number | null> {
  const out: Array<number | null> = [];
  const per = values.length / width;
  for (let i = 0; i < width; i++) {
    let sum = 0;
    let n = 0;
    for (let j = Math.floor(i * per); j < Math.floor((i + 1) * per); j++) {
      const v = values[j];
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    out.push(n ? sum / n : null);
  }
  return out;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        return i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, w - [...c].length));
      })
      .join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e12 || a < 1e-3)) return v.toExponential(3);
  return Number.isInteger(v) ? String(v) : v.toFixed(a >= 100 ? 1 : 3);
}
