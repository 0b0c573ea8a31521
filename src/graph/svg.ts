/** Renders a chart layout as a standalone SVG document. */
import type { ChartLayout } from './chart.js';
import { GLYPH_H } from './font.js';

export function escapeXml(s: string): string {
  // drop characters XML 1.0 forbids, escape the markup ones
  return s.replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/gu, '').replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}

function pathData(pts: readonly number[]): string {
  let d = '';
  let pen = false;
  for (let i = 0; i + 1 < pts.length; i += 2) {
    const x = pts[i] as number;
    const y = pts[i + 1] as number;
    if (Number.isNaN(x)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  }
  return d;
}

export function renderSvg(layout: ChartLayout): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" font-family="ui-monospace, Menlo, Consolas, monospace">`,
  ];
  for (const s of layout.shapes) {
    switch (s.t) {
      case 'rect':
        out.push(`<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" fill="${s.fill}"/>`);
        break;
      case 'line':
        out.push(`<line class="${s.cls}" x1="${s.x1}" y1="${s.y1}" x2="${s.x2}" y2="${s.y2}" stroke="${s.stroke}" stroke-width="${s.width}"/>`);
        break;
      case 'poly': {
        const d = pathData(s.pts);
        out.push(
          `<path class="${s.cls}" data-label="${escapeXml(s.label)}" d="${d}" fill="none" stroke="${s.stroke}" stroke-width="${s.width}" stroke-linejoin="round" stroke-linecap="round"/>`,
        );
        break;
      }
      case 'text': {
        // the layout places text by its top edge (bitmap font); SVG places by baseline
        const size = 10 * s.scale;
        const y = s.y + GLYPH_H * s.scale;
        out.push(
          `<text class="${s.cls}" x="${s.x}" y="${y}" font-size="${size}"${s.scale > 1 ? ' font-weight="bold"' : ''} fill="${s.fill}" text-anchor="${s.anchor}">${escapeXml(s.text)}</text>`,
        );
        break;
      }
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
