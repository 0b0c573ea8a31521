/** Chart rendering for `sonde graph`: query results to SVG text or PNG bytes. */
import type { QueryResult } from '../store/handle.js';
import { seriesKey } from '../model/series.js';
import { layoutChart, type ChartOptions, type ChartSeries } from './chart.js';
import { renderSvg } from './svg.js';
import { rasterize } from './raster.js';
import { encodePng } from './png.js';

export { layoutChart, type ChartLayout, type ChartOptions, type ChartSeries } from './chart.js';
export { renderSvg } from './svg.js';
export { rasterize, Bitmap } from './raster.js';
export { encodePng } from './png.js';

/** One line per series, labelled by its series key. */
export function chartSeries(result: QueryResult): ChartSeries[] {
  return result.series.map((s) => ({ label: seriesKey(s.name, s.tags), timestamps: s.timestamps, values: s.values }));
}

export function renderChart(result: QueryResult, format: 'svg' | 'png', opts: ChartOptions = {}): Buffer {
  const layout = layoutChart(chartSeries(result), opts);
  return format === 'svg' ? Buffer.from(renderSvg(layout), 'utf8') : encodePng(rasterize(layout));
}
